/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-tls"
#include "config.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cara-error.h"
#include "cara-tls.h"

#define MAX_CHAIN 16

static GMutex priority_lock;
static char *priority; /* NULL: the default */

gboolean
cara_tls_priority_check (const char *prio, GError **error)
{
  gnutls_priority_t p = NULL;
  const char *where = NULL;
  int rc = gnutls_priority_init (&p, prio, &where);
  if (rc != GNUTLS_E_SUCCESS)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "tls_priority: invalid GnuTLS priority string at \"%s\": %s",
                   where ? where : prio, gnutls_strerror (rc));
      return FALSE;
    }
  gnutls_priority_deinit (p);
  return TRUE;
}

gboolean
cara_tls_set_priority (const char *prio, GError **error)
{
  if (prio != NULL && *prio == '\0')
    prio = NULL;
  if (!cara_tls_priority_check (prio ? prio : CARA_TLS_DEFAULT_PRIORITY, error))
    return FALSE;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&priority_lock);
  g_free (priority);
  priority = g_strdup (prio);
  return TRUE;
}

const char *
cara_tls_get_priority (void)
{
  /* Set once at start, before any listener or client uses it (it is not changed on reload). */
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&priority_lock);
  return priority ? priority : CARA_TLS_DEFAULT_PRIORITY;
}

void
cara_tls_setup_curl (CURL *curl)
{
  curl_easy_setopt (curl, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  /* With GnuTLS, libcurl takes the cipher list as a priority string. */
  curl_easy_setopt (curl, CURLOPT_SSL_CIPHER_LIST, cara_tls_get_priority ());
}

struct _CaraTlsCreds {
  gnutls_pcert_st pcert[MAX_CHAIN];
  unsigned int n_pcert;
  gnutls_privkey_t key;
};

void
cara_tls_creds_free (CaraTlsCreds *c)
{
  if (c == NULL)
    return;
  for (unsigned int i = 0; i < c->n_pcert; i++)
    gnutls_pcert_deinit (&c->pcert[i]);
  if (c->key)
    gnutls_privkey_deinit (c->key);
  g_free (c);
}

CaraTlsCreds *
cara_tls_creds_load (const char *cert_file, const char *key_file, GError **error)
{
  g_autofree char *cert = NULL, *key = NULL;
  gsize cert_len = 0, key_len = 0;
  if (!g_file_get_contents (cert_file, &cert, &cert_len, error))
    {
      g_prefix_error (error, "TLS certificate: ");
      return NULL;
    }
  if (!g_file_get_contents (key_file, &key, &key_len, error))
    {
      g_prefix_error (error, "TLS key: ");
      return NULL;
    }
  g_autoptr (CaraTlsCreds) c = g_new0 (CaraTlsCreds, 1);
  gnutls_datum_t cd = { (unsigned char *) cert, (unsigned int) cert_len };
  gnutls_datum_t kd = { (unsigned char *) key, (unsigned int) key_len };
  unsigned int n = MAX_CHAIN;
  int rc = gnutls_pcert_list_import_x509_raw (c->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || n == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS certificate: %s holds no usable PEM certificate: %s",
                   cert_file, rc < 0 ? gnutls_strerror (rc) : "none found");
      return NULL;
    }
  c->n_pcert = n;
  rc = gnutls_privkey_init (&c->key);
  if (rc == 0)
    rc = gnutls_privkey_import_x509_raw (c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
  memset (key, 0, key_len);
  if (rc < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS key: %s holds no usable PEM private key: %s", key_file,
                   gnutls_strerror (rc));
      return NULL;
    }
  /* The key must be the certificate's: compare the public keys. */
  gnutls_pubkey_t pub = NULL;
  unsigned char a[64], b[64];
  size_t alen = sizeof a, blen = sizeof b;
  gboolean match = gnutls_pubkey_init (&pub) == 0 && gnutls_pubkey_import_privkey (pub, c->key, 0, 0) == 0
                   && gnutls_pubkey_get_key_id (pub, GNUTLS_KEYID_USE_SHA256, a, &alen) == 0
                   && gnutls_pubkey_get_key_id (c->pcert[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &blen) == 0
                   && alen == blen && memcmp (a, b, alen) == 0;
  if (pub)
    gnutls_pubkey_deinit (pub);
  if (!match)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "TLS: the key in %s does not belong to the certificate in %s",
                   key_file, cert_file);
      return NULL;
    }
  return g_steal_pointer (&c);
}

int
cara_tls_creds_retrieve (CaraTlsCreds *c, struct gnutls_pcert_st **ret_pcert, unsigned int *ret_n, void **ret_privkey)
{
  if (c == NULL)
    return -1;
  *ret_pcert = c->pcert;
  *ret_n = c->n_pcert;
  *ret_privkey = c->key;
  return 0;
}
