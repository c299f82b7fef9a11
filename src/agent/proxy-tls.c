/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-proxy"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "cara-error.h"
#include "proxy-tls.h"

#define MAX_CHAIN 16

typedef struct {
  gnutls_pcert_st pcerts[MAX_CHAIN];
  unsigned n;
  gnutls_privkey_t key;
  char *text; /* cert + key as given, to see whether a reload changes anything */
} Cert;

struct _ProxyTls {
  GMutex lock;
  GHashTable *certs;       /* host (lower case) -> Cert*, borrowed from @all */
  GHashTable *generations; /* host -> GUINT reload count */
  GPtrArray *all;          /* every Cert ever loaded: a handshake may still use a replaced one */
};

static void
cert_free (Cert *c)
{
  for (unsigned i = 0; i < c->n; i++)
    gnutls_pcert_deinit (&c->pcerts[i]);
  if (c->key)
    gnutls_privkey_deinit (c->key);
  g_free (c->text);
  g_free (c);
}

ProxyTls *
proxy_tls_new (void)
{
  ProxyTls *t = g_new0 (ProxyTls, 1);
  g_mutex_init (&t->lock);
  t->certs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  t->generations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  t->all = g_ptr_array_new_with_free_func ((GDestroyNotify) cert_free);
  return t;
}

void
proxy_tls_free (ProxyTls *t)
{
  if (t == NULL)
    return;
  g_hash_table_unref (t->certs);
  g_hash_table_unref (t->generations);
  g_ptr_array_unref (t->all);
  g_mutex_clear (&t->lock);
  g_free (t);
}

static gboolean
tls_error (GError **error, int rc, const char *what)
{
  g_set_error (error, CARA_ERROR, CARA_ERROR_INVALID, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

/* The key signs what the certificate's public key verifies. */
static gboolean
key_matches (Cert *c, GError **error)
{
  static const char probe[] = "caravanserai ingress key check";
  gnutls_datum_t data = { (unsigned char *) probe, sizeof probe - 1 };
  gnutls_datum_t sig = { NULL, 0 };
  gnutls_pk_algorithm_t pk = gnutls_pubkey_get_pk_algorithm (c->pcerts[0].pubkey, NULL);
  gnutls_sign_algorithm_t algo = gnutls_pk_to_sign (pk, GNUTLS_DIG_SHA256);
  int rc = gnutls_privkey_sign_data (c->key, GNUTLS_DIG_SHA256, 0, &data, &sig);
  if (rc >= 0)
    rc = gnutls_pubkey_verify_data2 (c->pcerts[0].pubkey, algo, 0, &data, &sig);
  gnutls_free (sig.data);
  if (rc < 0)
    {
      g_set_error_literal (error, CARA_ERROR, CARA_ERROR_INVALID, "tls.key is not the key of tls.crt");
      return FALSE;
    }
  return TRUE;
}

gboolean
proxy_tls_set_certificate (ProxyTls *t, const char *host, const char *cert_pem, const char *key_pem, GError **error)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  g_autofree char *text = g_strconcat (cert_pem, "\n", key_pem, NULL);
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
    Cert *cur = g_hash_table_lookup (t->certs, lower);
    if (cur && g_str_equal (cur->text, text))
      return TRUE;
  }
  Cert *c = g_new0 (Cert, 1);
  gnutls_datum_t cd = { (unsigned char *) cert_pem, (unsigned) strlen (cert_pem) };
  gnutls_datum_t kd = { (unsigned char *) key_pem, (unsigned) strlen (key_pem) };
  c->n = MAX_CHAIN;
  int rc = gnutls_pcert_list_import_x509_raw (c->pcerts, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || c->n == 0)
    {
      c->n = 0;
      cert_free (c);
      return tls_error (error, rc < 0 ? rc : GNUTLS_E_NO_CERTIFICATE_FOUND, "tls.crt");
    }
  if ((rc = gnutls_privkey_init (&c->key)) < 0
      || (rc = gnutls_privkey_import_x509_raw (c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
    {
      cert_free (c);
      return tls_error (error, rc, "tls.key");
    }
  if (!key_matches (c, error))
    {
      cert_free (c);
      return FALSE;
    }
  c->text = g_steal_pointer (&text);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
  g_ptr_array_add (t->all, c);
  g_hash_table_replace (t->certs, g_strdup (lower), c);
  guint gen = GPOINTER_TO_UINT (g_hash_table_lookup (t->generations, lower));
  g_hash_table_replace (t->generations, g_strdup (lower), GUINT_TO_POINTER (gen + 1));
  return TRUE;
}

void
proxy_tls_remove_certificate (ProxyTls *t, const char *host)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
  g_hash_table_remove (t->certs, lower);
}

gboolean
proxy_tls_has_certificate (ProxyTls *t, const char *host)
{
  if (t == NULL || host == NULL)
    return FALSE;
  g_autofree char *lower = g_ascii_strdown (host, -1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
  return g_hash_table_contains (t->certs, lower);
}

guint
proxy_tls_generation (ProxyTls *t, const char *host)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
  return GPOINTER_TO_UINT (g_hash_table_lookup (t->generations, lower));
}

static ProxyTls *active;

void
proxy_tls_set_active (ProxyTls *t)
{
  active = t;
}

/* Called by GnuTLS during each handshake: the certificate of the host the client names (SNI). */
static int
retrieve (gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs, const gnutls_pk_algorithm_t *pk_algos,
          int pk_algos_length, gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
  char name[256];
  size_t len = sizeof name - 1;
  unsigned type = 0;
  ProxyTls *t = active;
  if (t == NULL || gnutls_server_name_get (session, name, &len, &type, 0) < 0 || type != GNUTLS_NAME_DNS)
    return -1; /* no name, no certificate: the handshake fails */
  name[MIN (len, sizeof name - 1)] = '\0';
  g_autofree char *lower = g_ascii_strdown (name, -1);
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&t->lock);
  Cert *c = g_hash_table_lookup (t->certs, lower);
  if (c == NULL)
    {
      g_debug ("TLS handshake for %s: no certificate", lower);
      return -1;
    }
  *pcert = c->pcerts;
  *pcert_length = c->n;
  *pkey = c->key;
  return 0;
}

gpointer
proxy_tls_callback (void)
{
  gnutls_certificate_retrieve_function2 *f = retrieve;
  return (gpointer) f;
}

static ProxyTlsSource source = proxy_tls_source_dir;

void
proxy_tls_set_source (ProxyTlsSource s)
{
  source = s ? s : proxy_tls_source_dir;
}

ProxyTlsSource
proxy_tls_get_source (void)
{
  return source;
}

gboolean
proxy_tls_source_dir (const char *project, const char *secret, char **ret_cert_pem, char **ret_key_pem, GError **error)
{
  const char *dir = g_getenv ("PROXY_TLS_CERT_DIR");
  if (dir == NULL || *dir == '\0')
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND,
                   "Secret %s: this agent cannot read Secrets yet (set PROXY_TLS_CERT_DIR)", secret);
      return FALSE;
    }
  g_autofree char *crt_path = g_build_filename (dir, secret, "tls.crt", NULL);
  g_autofree char *key_path = g_build_filename (dir, secret, "tls.key", NULL);
  g_autofree char *crt = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (crt_path, &crt, NULL, &local) || !g_file_get_contents (key_path, &key, NULL, &local))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "Secret %s: %s", secret, local->message);
      return FALSE;
    }
  *ret_cert_pem = g_steal_pointer (&crt);
  *ret_key_pem = g_steal_pointer (&key);
  return TRUE;
}
