/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The ingress proxy's certificates (SPEC §13): one per host, chosen by SNI during the handshake
 * (GnuTLS's certificate callback, which libmicrohttpd hands on), replaced at any time without
 * touching connections already established (they keep the certificate they were made with).
 *
 * Where certificates come from: ingress[].tls.secret names a Secret with tls.crt and tls.key.
 * proxy_tls_set_certificate() takes that PEM text, whatever fetched it.  Until the agent can read
 * Secrets (GET /api/v1/nodes/{node}/secrets/{name}, SPEC §12), proxy_tls_source_dir() reads
 * them from $PROXY_TLS_CERT_DIR/{secret}/tls.crt and tls.key: the Secret fetch replaces that one
 * function (proxy_tls_set_source()). */

#include <glib.h>

typedef struct _ProxyTls ProxyTls;

ProxyTls *proxy_tls_new (void);
void proxy_tls_free (ProxyTls *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ProxyTls, proxy_tls_free)

/* @cert_pem: the certificate chain (leaf first), @key_pem its private key.  INVALID when either
 * does not parse or the key is not the certificate's.  Unchanged text: nothing happens.
 * Thread-safe. */
gboolean proxy_tls_set_certificate (ProxyTls *t, const char *host, const char *cert_pem, const char *key_pem,
                                    GError **error);
void proxy_tls_remove_certificate (ProxyTls *t, const char *host);
gboolean proxy_tls_has_certificate (ProxyTls *t, const char *host);
/* How many times a host's certificate was (re)loaded, for tests and logs. */
guint proxy_tls_generation (ProxyTls *t, const char *host);

/* The store the handshake callback reads (GnuTLS gives it no user data); NULL: none. */
void proxy_tls_set_active (ProxyTls *t);
/* The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
gpointer proxy_tls_callback (void);

/* A certificate source: the PEM texts of Secret @secret of @project. */
typedef gboolean (*ProxyTlsSource) (const char *project, const char *secret, char **ret_cert_pem, char **ret_key_pem,
                                    GError **error);
void proxy_tls_set_source (ProxyTlsSource source);
ProxyTlsSource proxy_tls_get_source (void);
/* The interim source: $PROXY_TLS_CERT_DIR/{secret}/tls.crt and tls.key (NOT_FOUND without them). */
gboolean proxy_tls_source_dir (const char *project, const char *secret, char **ret_cert_pem, char **ret_key_pem,
                               GError **error);
