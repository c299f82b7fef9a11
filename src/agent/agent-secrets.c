/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-agent"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "agent-secrets.h"
#include "proxy-tls.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "cara-secret.h"
#include "server-api.h"

static void
add_name (GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_strcmp0 (names->pdata[i], name) == 0)
      return;
  g_ptr_array_add (names, (gpointer) name);
}

/* One client per thread: its connection to the server is kept between projects. */
static CaraHttpClient *
thread_client (const AgentConfig *cfg)
{
  static GPrivate client = G_PRIVATE_INIT ((GDestroyNotify) cara_http_client_free);
  CaraHttpClient *c = g_private_get (&client);
  if (c == NULL)
    {
      c = server_client_new (cfg);
      g_private_set (&client, c);
    }
  return c;
}

static CaraSecret *
fetch_one (const AgentConfig *cfg, const char *secret, GError **error)
{
  g_autofree char *node = cara_http_escape (cfg->node_name);
  g_autofree char *name = cara_http_escape (secret);
  g_autofree char *path = g_strdup_printf ("/api/v1/nodes/%s/secrets/%s", node, name);
  g_autoptr (JsonNode) json = NULL;
  if (!cara_http_client_json (thread_client (cfg), "GET", path, NULL, NULL, &json, error))
    {
      g_prefix_error (error, "secret %s: ", secret);
      return NULL;
    }
  CaraSecret *s = cara_secret_from_json (json, error);
  if (s == NULL)
    g_prefix_error (error, "secret %s from the server: ", secret);
  return s;
}

/* The ingress proxy's certificates (SPEC §13): tls.crt and tls.key of the ingress entry's Secret,
 * fetched as the other Secrets are (the server answers only for Secrets this node's projects use). */
static const AgentConfig *tls_cfg;

static gboolean
tls_source (const char *project, const char *secret, char **ret_cert_pem, char **ret_key_pem, GError **error)
{
  g_autoptr (CaraSecret) s = fetch_one (tls_cfg, secret, error);
  if (s == NULL)
    return FALSE;
  g_autofree char *crt = cara_secret_get_string (s, "tls.crt");
  g_autofree char *key = cara_secret_get_string (s, "tls.key");
  if (crt == NULL || key == NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "secret %s has no %s", secret, crt ? "tls.key" : "tls.crt");
      return FALSE;
    }
  *ret_cert_pem = g_steal_pointer (&crt);
  *ret_key_pem = g_steal_pointer (&key);
  return TRUE;
}

void
agent_secrets_serve_tls (const AgentConfig *cfg)
{
  tls_cfg = cfg;
  /* PROXY_TLS_CERT_DIR (files) stays an override for nodes that keep certificates on disk. */
  if (g_getenv ("PROXY_TLS_CERT_DIR") == NULL)
    proxy_tls_set_source (tls_source);
}

GHashTable *
agent_secrets_fetch (const AgentConfig *cfg, const CaraProject *p, GError **error)
{
  g_autoptr (GHashTable) out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                      (GDestroyNotify) cara_secret_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < p->spec.services->len; i++)
    {
      const CaraService *svc = g_ptr_array_index (p->spec.services, i);
      for (guint j = 0; j < svc->env->len; j++)
        {
          const CaraEnvVar *e = g_ptr_array_index (svc->env, j);
          if (e->secret_ref)
            add_name (names, e->secret_ref);
        }
      for (guint j = 0; j < svc->secrets->len; j++)
        add_name (names, ((CaraSecretMount *) svc->secrets->pdata[j])->secret);
    }
  for (guint i = 0; p->spec.image_pull_secrets && p->spec.image_pull_secrets[i]; i++)
    add_name (names, p->spec.image_pull_secrets[i]);
  if (names->len == 0)
    return g_steal_pointer (&out);

  for (guint i = 0; i < names->len; i++)
    {
      CaraSecret *s = fetch_one (cfg, names->pdata[i], error);
      if (s == NULL)
        return NULL;
      g_hash_table_insert (out, g_strdup (names->pdata[i]), s);
    }
  return g_steal_pointer (&out);
}

/* ---- files ---- */

static char *
service_dir (const AgentConfig *cfg, const char *project, const char *service)
{
  return g_build_filename (cfg->runtime_dir, "secrets", project, service, NULL);
}

/* Who a service's secret files belong to: its numeric user ("1000" or "1000:1000"), so that a
 * mode such as 0400 lets that user read them; a user given by name (or none) leaves them root's. */
typedef struct {
  uid_t uid;
  gid_t gid;
} Owner;

static Owner
service_owner (const CaraService *svc)
{
  Owner o = { (uid_t) -1, (gid_t) -1 };
  g_auto (GStrv) parts = svc->user ? g_strsplit (svc->user, ":", 2) : NULL;
  guint64 uid, gid;
  if (parts == NULL || !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT32, &uid, NULL))
    return o;
  o.uid = (uid_t) uid;
  if (parts[1] != NULL && g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXINT32, &gid, NULL))
    o.gid = (gid_t) gid;
  return o;
}

/* Writes @value to @path with @mode and @owner unless it holds exactly that already (a running
 * container keeps what it has bound). */
static gboolean
write_file (const char *path, GBytes *value, guint mode, Owner owner, GError **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (value, &len);
  g_autofree char *old = NULL;
  gsize old_len = 0;
  GStatBuf st;

  if (g_file_get_contents (path, &old, &old_len, NULL) && old_len == len && (len == 0 || memcmp (old, data, len) == 0)
      && g_stat (path, &st) == 0 && (st.st_mode & 07777) == mode
      && (owner.uid == (uid_t) -1 || st.st_uid == owner.uid) && (owner.gid == (gid_t) -1 || st.st_gid == owner.gid))
    return TRUE;
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  gboolean ok = (len == 0 || write (fd, data, len) == (ssize_t) len) && fchmod (fd, mode) == 0
                && (owner.uid == (uid_t) -1 || fchown (fd, owner.uid, owner.gid) == 0);
  int saved = errno;
  close (fd);
  if (!ok || g_rename (tmp, path) != 0)
    {
      if (ok)
        saved = errno;
      g_unlink (tmp);
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Secret files belong in memory (SPEC §12: the RuntimeDirectory, a tmpfs under systemd): on a disk
 * they outlive a reboot and reach the disk's blocks.  Said once, when the first file is written. */
static void
warn_unless_memory (const char *dir)
{
  static gsize checked = 0;
  if (!g_once_init_enter (&checked))
    return;
  struct statfs st;
  if (statfs (dir, &st) == 0 && st.f_type != TMPFS_MAGIC && st.f_type != RAMFS_MAGIC)
    g_warning ("Secret files are written under %s, which is not a tmpfs: they reach the disk and outlive a "
               "reboot; point RUNTIME_DIRECTORY (or [agent] runtime_dir) at a tmpfs such as /run/cara-agent", dir);
  g_once_init_leave (&checked, 1);
}

static gboolean
make_dir (const char *path, int mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "cannot create %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *c = g_build_filename (path, n, NULL);
      if (g_file_test (c, G_FILE_TEST_IS_DIR) && !g_file_test (c, G_FILE_TEST_IS_SYMLINK))
        remove_tree (c);
      else
        g_unlink (c);
    }
  g_rmdir (path);
}

/* One secrets[] item: a file (one key) or a directory of KEY files (several); its bind. */
static char *
write_mount (const char *dir, guint index, const CaraSecretMount *m, const CaraSecret *s, Owner owner,
             GError **error)
{
  guint mode = m->mode > 0 ? (guint) m->mode : 0400;
  g_autofree char *name = g_strdup_printf ("%u", index);
  g_autofree char *host = g_build_filename (dir, name, NULL);
  const char *one = m->key;
  g_autofree char *target = m->path ? g_strdup (m->path) : g_strconcat ("/run/secrets/", m->secret, NULL);

  if (one == NULL && s->keys->len == 1)
    one = ((CaraSecretKey *) s->keys->pdata[0])->name;
  if (one != NULL)
    {
      GBytes *v = g_hash_table_lookup (s->data, one);
      if (v == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "secret %s has no key %s", m->secret, one);
          return NULL;
        }
      if (g_file_test (host, G_FILE_TEST_IS_DIR))
        remove_tree (host);
      if (!write_file (host, v, mode, owner, error))
        return NULL;
      return g_strdup_printf ("%s:%s:ro", host, target);
    }
  if (g_file_test (host, G_FILE_TEST_IS_REGULAR))
    g_unlink (host);
  if (!make_dir (host, 0755, error))
    return NULL;
  for (guint i = 0; i < s->keys->len; i++)
    {
      const char *key = ((CaraSecretKey *) s->keys->pdata[i])->name;
      g_autofree char *f = g_build_filename (host, key, NULL);
      if (!write_file (f, g_hash_table_lookup (s->data, key), mode, owner, error))
        return NULL;
    }
  /* Keys no longer in the Secret. */
  g_autoptr (GDir) d = g_dir_open (host, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL)
    if (cara_secret_find_key (s, n) == NULL)
      {
        g_autofree char *f = g_build_filename (host, n, NULL);
        g_unlink (f);
      }
  return g_strdup_printf ("%s:%s:ro", host, target);
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    {
      json_object_set_array_member (o, name, json_array_new ());
      n = json_object_get_member (o, name);
    }
  return json_node_get_array (n);
}

static const CaraSecret *
need (GHashTable *secrets, const char *name, GError **error)
{
  const CaraSecret *s = secrets ? g_hash_table_lookup (secrets, name) : NULL;
  if (s == NULL)
    g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "secret %s was not fetched", name);
  return s;
}

gboolean
agent_secrets_apply (const AgentConfig *cfg, const CaraProject *p, const CaraService *svc, GHashTable *secrets,
                     JsonNode *body, char **hash, GError **error)
{
  JsonObject *root = json_node_get_object (body);
  g_autoptr (GString) fold = g_string_new (*hash);
  gboolean any = FALSE;

  JsonArray *env = member_array (root, "Env");
  for (guint i = 0; i < svc->env->len; i++)
    {
      const CaraEnvVar *e = g_ptr_array_index (svc->env, i);
      if (e->secret_ref == NULL)
        continue;
      const CaraSecret *s = need (secrets, e->secret_ref, error);
      if (s == NULL)
        return FALSE;
      g_autofree char *value = cara_secret_get_string (s, e->secret_key);
      if (value == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "env %s: secret %s has no key %s", e->name,
                       e->secret_ref, e->secret_key);
          return FALSE;
        }
      g_autofree char *kv = g_strdup_printf ("%s=%s", e->name, value);
      if (i < json_array_get_length (env))
        {
          JsonNode *n = json_array_get_element (env, i);
          json_node_set_string (n, kv);
        }
      else
        json_array_add_string_element (env, kv);
      g_string_append_printf (fold, "|env:%s=%s/%s@%s", e->name, e->secret_ref, e->secret_key,
                              s->metadata.resource_version);
      any = TRUE;
    }

  if (svc->secrets->len > 0)
    {
      g_autofree char *dir = service_dir (cfg, p->metadata.name, svc->name);
      if (!make_dir (dir, 0700, error))
        return FALSE;
      warn_unless_memory (dir);
      JsonArray *binds = member_array (cara_json_object_object (root, "HostConfig"), "Binds");
      for (guint j = 0; j < svc->secrets->len; j++)
        {
          const CaraSecretMount *m = g_ptr_array_index (svc->secrets, j);
          const CaraSecret *s = need (secrets, m->secret, error);
          if (s == NULL)
            return FALSE;
          g_autofree char *bind = write_mount (dir, j, m, s, service_owner (svc), error);
          if (bind == NULL)
            return FALSE;
          json_array_add_string_element (binds, bind);
          g_string_append_printf (fold, "|file:%s/%s:%s:%" G_GINT64_FORMAT "@%s", m->secret, m->key ? m->key : "*",
                                  m->path ? m->path : "", m->mode, s->metadata.resource_version);
          any = TRUE;
        }
    }
  if (!any)
    return TRUE;
  g_autofree char *full = g_compute_checksum_for_string (G_CHECKSUM_SHA256, fold->str, -1);
  g_free (*hash);
  *hash = g_strndup (full, 16);
  json_object_set_string_member (cara_json_object_object (root, "Labels"), AGENT_LABEL_HASH, *hash);
  return TRUE;
}

char *
agent_secrets_registry_auth (const CaraProject *p, GHashTable *secrets, const char *image)
{
  g_autofree char *host = cara_image_registry_host (image);
  for (guint i = 0; p->spec.image_pull_secrets && p->spec.image_pull_secrets[i]; i++)
    {
      const CaraSecret *s = secrets ? g_hash_table_lookup (secrets, p->spec.image_pull_secrets[i]) : NULL;
      g_autofree char *server = s ? cara_secret_get_string (s, "server") : NULL;
      g_autofree char *server_host = server ? cara_registry_server_host (server) : NULL;
      if (server_host && g_strcmp0 (server_host, host) == 0)
        return cara_secret_registry_auth (s);
    }
  return NULL;
}

const char *
agent_secrets_pull_reason (const char *message)
{
  g_autofree char *m = g_ascii_strdown (message ? message : "", -1);
  if (strstr (m, "does not exist") || strstr (m, "manifest unknown") || strstr (m, "not found"))
    return "ImageNotFound";
  if (strstr (m, "unauthorized") || strstr (m, "authentication required") || strstr (m, "no basic auth credentials")
      || strstr (m, "denied") || strstr (m, "incorrect username or password"))
    return "ImagePullAuthFailed";
  return "ImagePullFailed";
}

void
agent_secrets_remove (const AgentConfig *cfg, const char *project)
{
  g_autofree char *dir = g_build_filename (cfg->runtime_dir, "secrets", project, NULL);
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    remove_tree (dir);
}
