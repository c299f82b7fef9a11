/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#define G_LOG_DOMAIN "cara-docker"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cara-error.h"
#include "cara-json.h"
#include "docker.h"

struct _DockerClient {
  CaraHttpClient *http;
  char *version; /* "1.41" */
  char *prefix;  /* "/v1.41" */
};

/* host -> negotiated version; negotiated once per process and host. */
static GMutex version_lock;

/* Docker's answers are parsed with json-glib directly (no resource model involved). */
static JsonNode *
parse_json (const char *data, gssize len, GError **error)
{
  if (!cara_json_check_depth (data, len, error))
    return NULL;
  g_autoptr (JsonParser) p = json_parser_new_immutable ();
  if (!json_parser_load_from_data (p, data, len, error))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  return root ? json_node_copy (root) : json_node_new (JSON_NODE_NULL);
}

static char *
to_json (JsonNode *n)
{
  return json_to_string (n, FALSE);
}
static GHashTable *version_cache;

static int
version_cmp (const char *a, const char *b)
{
  int amaj = 0, amin = 0, bmaj = 0, bmin = 0;
  sscanf (a, "%d.%d", &amaj, &amin);
  sscanf (b, "%d.%d", &bmaj, &bmin);
  if (amaj != bmaj)
    return amaj < bmaj ? -1 : 1;
  return amin < bmin ? -1 : amin > bmin ? 1 : 0;
}

char *
docker_negotiate_version (const char *server_api_version)
{
  if (server_api_version == NULL || *server_api_version == '\0')
    return g_strdup (DOCKER_API_VERSION_MAX);
  return g_strdup (version_cmp (server_api_version, DOCKER_API_VERSION_MAX) < 0 ? server_api_version
                                                                                : DOCKER_API_VERSION_MAX);
}

static GError *
docker_error (CaraHttpResponse *r, const char *method, const char *path)
{
  gsize len = 0;
  const char *data = r->body ? g_bytes_get_data (r->body, &len) : NULL;
  g_autofree char *msg = NULL;
  if (data && len)
    {
      g_autoptr (JsonNode) n = parse_json (data, (gssize) len, NULL);
      if (n && JSON_NODE_HOLDS_OBJECT (n))
        msg = g_strdup (json_object_get_string_member_with_default (json_node_get_object (n), "message", ""));
      if (msg == NULL || *msg == '\0')
        {
          g_free (msg);
          msg = g_strstrip (g_strndup (data, MIN (len, 1024)));
        }
    }
  int code = r->status == 404 ? CARA_ERROR_NOT_FOUND : r->status == 409 ? CARA_ERROR_CONFLICT : CARA_ERROR_FAILED;
  g_debug ("docker %s %s -> %u %s", method, path, r->status, msg ? msg : "");
  return g_error_new (CARA_ERROR, code, "%s", (msg && *msg) ? msg : cara_http_status_title (r->status));
}

/* Every Engine API request goes through here, so the observer (metrics) sees each one. */
static DockerRequestObserver request_observer;
static gpointer request_observer_data;

void
docker_set_request_observer (DockerRequestObserver func, gpointer user_data)
{
  request_observer = func;
  request_observer_data = user_data;
}

static CaraHttpResponse *
docker_request (CaraHttpClient *http, const char *method, const char *path, const char *content_type,
                const char *body, gsize body_len, GError **error)
{
  CaraHttpResponse *r = cara_http_client_request (http, method, path, content_type, body, body_len, error);
  if (request_observer)
    request_observer (r ? r->status : 0, request_observer_data);
  return r;
}

DockerClient *
docker_client_new (const char *host, GError **error)
{
  g_autoptr (DockerClient) dc = g_new0 (DockerClient, 1);
  dc->http = cara_http_client_new (host);
  cara_http_client_set_connect_timeout (dc->http, 5000);

  g_mutex_lock (&version_lock);
  if (version_cache == NULL)
    version_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *cached = g_hash_table_lookup (version_cache, host);
  dc->version = g_strdup (cached);
  g_mutex_unlock (&version_lock);

  if (dc->version == NULL)
    {
      cara_http_client_set_timeout (dc->http, 10000);
      g_autoptr (CaraHttpResponse) r = docker_request (dc->http, "GET", "/version", NULL, NULL, 0, error);
      if (r == NULL)
        {
          g_prefix_error (error, "Docker daemon at %s: ", host);
          return NULL;
        }
      if (r->status != 200)
        {
          g_propagate_error (error, docker_error (r, "GET", "/version"));
          g_prefix_error (error, "Docker daemon at %s: ", host);
          return NULL;
        }
      gsize len = 0;
      const char *data = g_bytes_get_data (r->body, &len);
      g_autoptr (JsonNode) n = parse_json (data, (gssize) len, error);
      if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
        {
          g_clear_error (error);
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Docker daemon at %s: bad /version answer", host);
          return NULL;
        }
      const char *api = json_object_get_string_member_with_default (json_node_get_object (n), "ApiVersion", "");
      dc->version = docker_negotiate_version (api);
      g_mutex_lock (&version_lock);
      g_hash_table_replace (version_cache, g_strdup (host), g_strdup (dc->version));
      g_mutex_unlock (&version_lock);
      g_debug ("Docker at %s speaks API %s; using %s", host, api, dc->version);
    }
  dc->prefix = g_strconcat ("/v", dc->version, NULL);
  cara_http_client_set_timeout (dc->http, 60000);
  return g_steal_pointer (&dc);
}

void
docker_client_free (DockerClient *dc)
{
  if (dc == NULL)
    return;
  cara_http_client_free (dc->http);
  g_free (dc->version);
  g_free (dc->prefix);
  g_free (dc);
}

static GPrivate thread_client = G_PRIVATE_INIT ((GDestroyNotify) docker_client_free);

DockerClient *
docker_client_for_thread (const char *host, GError **error)
{
  DockerClient *dc = g_private_get (&thread_client);

  if (dc != NULL && g_strcmp0 (cara_http_client_get_base_url (dc->http), host) == 0)
    return dc;
  dc = docker_client_new (host, error);
  if (dc != NULL)
    g_private_replace (&thread_client, dc);
  return dc;
}

const char *
docker_client_get_api_version (DockerClient *dc)
{
  return dc->version;
}

CaraHttpClient *
docker_client_get_http (DockerClient *dc)
{
  return dc->http;
}

gboolean
docker_call (DockerClient *dc, const char *method, const char *path, JsonNode *body, JsonNode **ret_json,
             GError **error)
{
  g_autofree char *full = g_strconcat (dc->prefix, path, NULL);
  g_autofree char *data = body ? to_json (body) : NULL;
  g_autoptr (CaraHttpResponse) r = docker_request (dc->http, method, full,
                                                              data ? "application/json" : NULL, data,
                                                              data ? strlen (data) : 0, error);
  if (r == NULL)
    return FALSE;
  if (r->status < 200 || r->status >= 300)
    {
      g_propagate_error (error, docker_error (r, method, path));
      return FALSE;
    }
  if (ret_json)
    {
      gsize len = 0;
      const char *bytes = g_bytes_get_data (r->body, &len);
      JsonNode *n = NULL;
      if (len > 0)
        {
          n = parse_json (bytes, (gssize) len, error);
          if (n == NULL)
            return FALSE;
        }
      *ret_json = n;
    }
  return TRUE;
}

gboolean
docker_ping (DockerClient *dc, GError **error)
{
  g_autofree char *full = g_strconcat (dc->prefix, "/_ping", NULL);
  g_autoptr (CaraHttpResponse) r = docker_request (dc->http, "GET", full, NULL, NULL, 0, error);
  if (r == NULL)
    return FALSE;
  if (r->status != 200)
    {
      g_propagate_error (error, docker_error (r, "GET", "/_ping"));
      return FALSE;
    }
  return TRUE;
}

char *
docker_filters_labels (const char *const *label_filters)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "label");
  json_builder_begin_array (b);
  for (const char *const *l = label_filters; l && *l; l++)
    json_builder_add_string_value (b, *l);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) n = json_builder_get_root (b);
  return to_json (n);
}

const char *
docker_labels_get (JsonObject *obj, const char *key)
{
  if (obj == NULL)
    return NULL;
  JsonNode *l = json_object_get_member (obj, "Labels");
  if (l == NULL || !JSON_NODE_HOLDS_OBJECT (l))
    return NULL;
  JsonNode *v = json_object_get_member (json_node_get_object (l), key);
  if (v == NULL || !JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (v);
}

static JsonArray *
list_call (DockerClient *dc, const char *base, const char *const *label_filters, GError **error)
{
  g_autofree char *filters = docker_filters_labels (label_filters);
  g_autofree char *esc = cara_http_escape (filters);
  g_autofree char *path = g_strdup_printf ("%s%sfilters=%s", base, strchr (base, '?') ? "&" : "?", esc);
  g_autoptr (JsonNode) n = NULL;
  if (!docker_call (dc, "GET", path, NULL, &n, error))
    return NULL;
  if (n && JSON_NODE_HOLDS_OBJECT (n) && json_object_has_member (json_node_get_object (n), "Volumes"))
    {
      /* /volumes answers {"Volumes": [...]} (null when none). */
      JsonNode *v = json_object_get_member (json_node_get_object (n), "Volumes");
      if (v && JSON_NODE_HOLDS_ARRAY (v))
        return json_array_ref (json_node_get_array (v));
      return json_array_new ();
    }
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return json_array_new ();
  return json_array_ref (json_node_get_array (n));
}

static JsonObject *
object_call (DockerClient *dc, const char *path, GError **error)
{
  g_autoptr (JsonNode) n = NULL;
  if (!docker_call (dc, "GET", path, NULL, &n, error))
    return NULL;
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "unexpected Docker answer for %s", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (n));
}

/* ---- containers ---- */

JsonArray *
docker_container_list (DockerClient *dc, const char *const *label_filters, GError **error)
{
  return list_call (dc, "/containers/json?all=1", label_filters, error);
}

JsonObject *
docker_container_inspect (DockerClient *dc, const char *id_or_name, GError **error)
{
  g_autofree char *esc = cara_http_escape (id_or_name);
  g_autofree char *path = g_strdup_printf ("/containers/%s/json", esc);
  return object_call (dc, path, error);
}

gboolean
docker_container_create (DockerClient *dc, const char *name, JsonNode *config, char **ret_id, GError **error)
{
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/containers/create?name=%s", esc);
  g_autoptr (JsonNode) n = NULL;
  if (!docker_call (dc, "POST", path, config, &n, error))
    return FALSE;
  if (ret_id)
    *ret_id = g_strdup (n && JSON_NODE_HOLDS_OBJECT (n)
                            ? json_object_get_string_member_with_default (json_node_get_object (n), "Id", "")
                            : "");
  return TRUE;
}

gboolean
docker_container_start (DockerClient *dc, const char *id, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s/containers/%s/start", dc->prefix, id);
  g_autoptr (CaraHttpResponse) r = docker_request (dc->http, "POST", path, NULL, NULL, 0, error);
  if (r == NULL)
    return FALSE;
  /* 304: already running (Docker's own restart manager may have been quicker). */
  if ((r->status >= 200 && r->status < 300) || r->status == 304)
    return TRUE;
  g_propagate_error (error, docker_error (r, "POST", path));
  return FALSE;
}

gboolean
docker_container_stop (DockerClient *dc, const char *id, int timeout_s, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/containers/%s/stop?t=%d", id, timeout_s);
  return docker_call (dc, "POST", path, NULL, NULL, error);
}

gboolean
docker_container_remove (DockerClient *dc, const char *id, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/containers/%s?force=1&v=1", id);
  return docker_call (dc, "DELETE", path, NULL, NULL, error);
}

/* ---- networks ---- */

JsonArray *
docker_network_list (DockerClient *dc, const char *const *label_filters, GError **error)
{
  if (label_filters == NULL || *label_filters == NULL)
    {
      g_autoptr (JsonNode) n = NULL;
      if (!docker_call (dc, "GET", "/networks", NULL, &n, error))
        return NULL;
      if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
        return json_array_new ();
      return json_array_ref (json_node_get_array (n));
    }
  return list_call (dc, "/networks", label_filters, error);
}

JsonObject *
docker_network_inspect (DockerClient *dc, const char *id_or_name, GError **error)
{
  g_autofree char *esc = cara_http_escape (id_or_name);
  g_autofree char *path = g_strdup_printf ("/networks/%s", esc);
  return object_call (dc, path, error);
}

static void
add_labels (JsonBuilder *b, GHashTable *labels)
{
  json_builder_set_member_name (b, "Labels");
  json_builder_begin_object (b);
  if (labels)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, labels);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          json_builder_set_member_name (b, k);
          json_builder_add_string_value (b, v);
        }
    }
  json_builder_end_object (b);
}

gboolean
docker_network_create (DockerClient *dc, const char *name, const char *subnet, GHashTable *labels, char **ret_id,
                       GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "Driver");
  json_builder_add_string_value (b, "bridge");
  json_builder_set_member_name (b, "CheckDuplicate");
  json_builder_add_boolean_value (b, TRUE);
  add_labels (b, labels);
  if (subnet)
    {
      json_builder_set_member_name (b, "IPAM");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Driver");
      json_builder_add_string_value (b, "default");
      json_builder_set_member_name (b, "Config");
      json_builder_begin_array (b);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Subnet");
      json_builder_add_string_value (b, subnet);
      json_builder_end_object (b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  g_autoptr (JsonNode) n = NULL;
  if (!docker_call (dc, "POST", "/networks/create", body, &n, error))
    return FALSE;
  if (ret_id)
    *ret_id = g_strdup (n && JSON_NODE_HOLDS_OBJECT (n)
                            ? json_object_get_string_member_with_default (json_node_get_object (n), "Id", "")
                            : "");
  return TRUE;
}

gboolean
docker_network_remove (DockerClient *dc, const char *id_or_name, GError **error)
{
  g_autofree char *esc = cara_http_escape (id_or_name);
  g_autofree char *path = g_strdup_printf ("/networks/%s", esc);
  return docker_call (dc, "DELETE", path, NULL, NULL, error);
}

/* ---- volumes ---- */

JsonObject *
docker_volume_inspect (DockerClient *dc, const char *name, GError **error)
{
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/volumes/%s", esc);
  return object_call (dc, path, error);
}

gboolean
docker_volume_create (DockerClient *dc, const char *name, GHashTable *labels, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, name);
  add_labels (b, labels);
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  return docker_call (dc, "POST", "/volumes/create", body, NULL, error);
}

gboolean
docker_volume_remove (DockerClient *dc, const char *name, GError **error)
{
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/volumes/%s", esc);
  return docker_call (dc, "DELETE", path, NULL, NULL, error);
}

JsonArray *
docker_volume_list (DockerClient *dc, const char *const *label_filters, GError **error)
{
  return list_call (dc, "/volumes", label_filters, error);
}

/* ---- images ---- */

JsonObject *
docker_image_inspect (DockerClient *dc, const char *image, GError **error)
{
  /* Image references contain '/' and ':' which Docker expects literally in the path. */
  g_autofree char *path = g_strdup_printf ("/images/%s/json", image);
  return object_call (dc, path, error);
}

/* The pull answers 200 and then reports failures inside its NDJSON progress stream. */
static char *
pull_stream_error (const char *data, gsize len)
{
  g_autofree char *text = g_strndup (data, len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0')
        continue;
      g_autoptr (JsonNode) n = parse_json (*l, -1, NULL);
      if (n && JSON_NODE_HOLDS_OBJECT (n))
        {
          const char *e = json_object_get_string_member_with_default (json_node_get_object (n), "error", NULL);
          if (e)
            return g_strdup (e);
        }
    }
  return NULL;
}

gboolean
docker_image_ensure (DockerClient *dc, const char *image, guint timeout_s, GError **error)
{
  return docker_image_ensure_auth (dc, image, NULL, timeout_s, NULL, error);
}

gboolean
docker_image_ensure_auth (DockerClient *dc, const char *image, const char *registry_auth, guint timeout_s,
                          gboolean *ret_pulled, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonObject) info = docker_image_inspect (dc, image, &local);
  if (ret_pulled)
    *ret_pulled = FALSE;
  if (info)
    return TRUE;
  if (!g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  /* Split "repo[:tag][@digest]"; a ':' after the last '/' is the tag. */
  g_autofree char *repo = g_strdup (image);
  const char *tag = "latest";
  char *slash = strrchr (repo, '/');
  char *at = strchr (repo, '@');
  char *colon = strrchr (slash ? slash : repo, ':');
  if (at)
    tag = NULL;
  else if (colon)
    {
      *colon = '\0';
      tag = colon + 1;
    }
  g_autofree char *esc_repo = cara_http_escape (repo);
  g_autofree char *esc_tag = tag ? cara_http_escape (tag) : NULL;
  g_autofree char *path = tag ? g_strdup_printf ("%s/images/create?fromImage=%s&tag=%s", dc->prefix, esc_repo, esc_tag)
                              : g_strdup_printf ("%s/images/create?fromImage=%s", dc->prefix, esc_repo);
  /* The progress stream is small; read it whole, bounded by the pull timeout. */
  if (ret_pulled)
    *ret_pulled = TRUE;
  cara_http_client_set_timeout (dc->http, timeout_s * 1000);
  /* Credentials go with this one request only: a client of its own carries the header. */
  g_autoptr (CaraHttpClient) auth_http = NULL;
  if (registry_auth != NULL)
    {
      auth_http = cara_http_client_new (cara_http_client_get_base_url (dc->http));
      cara_http_client_set_timeout (auth_http, timeout_s * 1000);
      cara_http_client_add_header (auth_http, "X-Registry-Auth", registry_auth);
    }
  g_autoptr (CaraHttpResponse) r = docker_request (auth_http ? auth_http : dc->http, "POST", path, NULL, NULL, 0,
                                                   error);
  cara_http_client_set_timeout (dc->http, 60000);
  if (r == NULL)
    {
      /* A pull that outlasts its timeout is the registry's slowness, not Docker's absence: the
       * project fails with ImagePullFailed rather than waiting for a retry. */
      if (error && *error && strstr ((*error)->message, "Operation timed out"))
        (*error)->code = CARA_ERROR_FAILED;
      g_prefix_error (error, "pull image %s: ", image);
      return FALSE;
    }
  if (r->status < 200 || r->status >= 300)
    {
      g_propagate_prefixed_error (error, docker_error (r, "POST", "/images/create"), "pull image %s: ", image);
      return FALSE;
    }
  gsize len = 0;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autofree char *stream_error = pull_stream_error (data, len);
  if (stream_error)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "pull image %s: %s", image, stream_error);
      return FALSE;
    }
  return TRUE;
}

/* ---- streams ---- */

typedef struct {
  CaraHttpDataFunc on_data;
  gpointer user_data;
  gboolean raw;     /* TTY container: no multiplexing */
  guint8 header[8];
  gsize header_len;
  gsize frame_left; /* payload bytes left in the current frame */
} LogDemux;

/* Docker multiplexes stdout/stderr as [stream, 0, 0, 0, size(4, big endian)] + payload. */
static gboolean
logs_data (const char *data, gsize len, gpointer user_data)
{
  LogDemux *d = user_data;
  if (d->raw)
    return d->on_data (data, len, d->user_data);
  while (len > 0)
    {
      if (d->frame_left == 0)
        {
          gsize take = MIN (8 - d->header_len, len);
          memcpy (d->header + d->header_len, data, take);
          d->header_len += take;
          data += take;
          len -= take;
          if (d->header_len == 8)
            {
              d->frame_left = ((gsize) d->header[4] << 24) | ((gsize) d->header[5] << 16)
                              | ((gsize) d->header[6] << 8) | d->header[7];
              d->header_len = 0;
            }
          continue;
        }
      gsize take = MIN (d->frame_left, len);
      if (!d->on_data (data, take, d->user_data))
        return FALSE;
      d->frame_left -= take;
      data += take;
      len -= take;
    }
  return TRUE;
}

gboolean
docker_container_logs (DockerClient *dc, const char *id, gboolean follow, const char *tail, gboolean timestamps,
                       CaraHttpDataFunc on_data, gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonObject) info = docker_container_inspect (dc, id, error);
  if (info == NULL)
    return FALSE;
  gboolean tty = FALSE;
  JsonNode *cfg = json_object_get_member (info, "Config");
  if (cfg && JSON_NODE_HOLDS_OBJECT (cfg))
    tty = json_object_get_boolean_member_with_default (json_node_get_object (cfg), "Tty", FALSE);
  g_autofree char *esc_tail = cara_http_escape (tail && *tail ? tail : "all");
  g_autofree char *path = g_strdup_printf ("%s/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&tail=%s",
                                           dc->prefix, id, follow ? 1 : 0, timestamps ? 1 : 0, esc_tail);
  LogDemux d = { .on_data = on_data, .user_data = user_data, .raw = tty };
  cara_http_client_set_timeout (dc->http, 0);
  gboolean ok = cara_http_client_stream (dc->http, "GET", path, NULL, NULL, 0, logs_data, &d, cancellable, error);
  cara_http_client_set_timeout (dc->http, 60000);
  return ok;
}

typedef struct {
  GString *pending;
  DockerEventFunc on_event;
  gpointer user_data;
} EventState;

static gboolean
events_data (const char *data, gsize len, gpointer user_data)
{
  EventState *st = user_data;
  g_string_append_len (st->pending, data, (gssize) len);
  char *nl;
  while ((nl = memchr (st->pending->str, '\n', st->pending->len)) != NULL)
    {
      gsize line_len = (gsize) (nl - st->pending->str);
      g_autoptr (JsonNode) n = line_len ? parse_json (st->pending->str, (gssize) line_len, NULL) : NULL;
      g_string_erase (st->pending, 0, (gssize) line_len + 1);
      if (n && JSON_NODE_HOLDS_OBJECT (n))
        st->on_event (json_node_get_object (n), st->user_data);
    }
  return TRUE;
}

gboolean
docker_events (DockerClient *dc, const char *filters_json, DockerEventFunc on_event, gpointer user_data,
               GCancellable *cancellable, GError **error)
{
  g_autofree char *esc = cara_http_escape (filters_json ? filters_json : "{}");
  g_autofree char *path = g_strdup_printf ("%s/events?filters=%s", dc->prefix, esc);
  EventState st = { .pending = g_string_new (NULL), .on_event = on_event, .user_data = user_data };
  cara_http_client_set_timeout (dc->http, 0);
  gboolean ok = cara_http_client_stream (dc->http, "GET", path, NULL, NULL, 0, events_data, &st, cancellable, error);
  cara_http_client_set_timeout (dc->http, 60000);
  g_string_free (st.pending, TRUE);
  return ok;
}
