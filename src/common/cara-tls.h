/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* TLS policy shared by every listener (libmicrohttpd) and client (libcurl), both on GnuTLS:
 * a priority string with TLS 1.2 as the minimum and no static-RSA key exchange, SHA-1 MACs or CBC
 * suites, configurable (--tls-priority, CARA_TLS_PRIORITY, tls_priority=); and server
 * certificates that can be replaced while serving (CaraTlsCreds, swapped on reload). */

#include <curl/curl.h>
#include <glib.h>

#define CARA_TLS_DEFAULT_PRIORITY                                                                        \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-SHA1:-AES-128-CBC:-AES-256-CBC:-CAMELLIA-128-CBC:" \
  "-CAMELLIA-256-CBC:-3DES-CBC:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

/* FALSE with CARA_ERROR_INVALID naming where @priority is wrong (GnuTLS's own parser). */
gboolean cara_tls_priority_check (const char *priority, GError **error);
/* The process's priority string for clients and listeners (NULL or "": the default); checked.
 * Call once at start, before any listener or client is made. */
gboolean cara_tls_set_priority (const char *priority, GError **error);
const char *cara_tls_get_priority (void);

/* For a libcurl handle that may speak https: TLS 1.2 at least, and the priority string. */
void cara_tls_setup_curl (CURL *curl);

/* A certificate chain and its key, loaded from PEM files. */
typedef struct _CaraTlsCreds CaraTlsCreds;
CaraTlsCreds *cara_tls_creds_load (const char *cert_file, const char *key_file, GError **error);
void cara_tls_creds_free (CaraTlsCreds *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraTlsCreds, cara_tls_creds_free)

/* A gnutls_certificate_retrieve_function2 body: hands out @c's chain and key (they stay owned by
 * @c, which must outlive every handshake that got them). */
struct gnutls_pcert_st;
int cara_tls_creds_retrieve (CaraTlsCreds *c, struct gnutls_pcert_st **ret_pcert, unsigned int *ret_n,
                             void **ret_privkey);
