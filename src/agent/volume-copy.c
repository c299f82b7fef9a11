/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-volume-copy"
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "docker-archive.h"
#include "reconcile.h"
#include "server-api.h"
#include "volume-copy.h"
#include "volume-hold.h"

#define SEND_QUEUE (1024 * 1024) /* bytes queued to the server before we stop reading Docker */
#define PUT_PIPE (2 * 1024 * 1024) /* bytes between the relay's stream and Docker's PUT */
#define TRANSFER_KEEP_USEC (15 * 60 * G_USEC_PER_SEC)

typedef struct {
  char *sha256;
  gint64 bytes;
  char *error; /* NULL when the whole tar was sent */
  gint64 at;
} TransferResult;

static const AgentConfig *cfg;
static AgentWorker *worker;
static GMutex lock;
static GHashTable *transfers; /* id -> TransferResult* */
static GHashTable *receiving; /* project -> GCancellable* of the receive under way */
static GCond receive_done;

static void
transfer_result_free (gpointer data)
{
  TransferResult *t = data;
  g_free (t->sha256);
  g_free (t->error);
  g_free (t);
}

void
volume_copy_init (const AgentConfig *c, AgentWorker *w)
{
  cfg = c;
  worker = w;
  g_mutex_lock (&lock);
  if (transfers == NULL)
    {
      transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, transfer_result_free);
      receiving = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
    }
  g_mutex_unlock (&lock);
}

gboolean
volume_copy_skip (const char *name, const CaraProject *p)
{
  return volume_hold_skip (name, p, cfg->node_name, g_get_monotonic_time ());
}

/* ---------------------------------------------------------------- helpers */

/* SHA-256 of a stream, with GnuTLS (its assembly and SHA-NI code: several times GChecksum's speed,
 * which matters when every byte of a volume goes through it on both nodes). */
static gnutls_hash_hd_t
digest_new (void)
{
  gnutls_hash_hd_t h = NULL;
  if (gnutls_hash_init (&h, GNUTLS_DIG_SHA256) < 0)
    g_error ("GnuTLS has no SHA-256");
  return h;
}

static char *
digest_finish (gnutls_hash_hd_t h)
{
  guchar out[32];
  gnutls_hash_deinit (h, out);
  GString *hex = g_string_sized_new (65);
  for (guint i = 0; i < sizeof out; i++)
    g_string_append_printf (hex, "%02x", out[i]);
  return g_string_free (hex, FALSE);
}

static char **
own_filters (const char *project, const char *extra)
{
  char **r = g_new0 (char *, 4);
  r[0] = g_strdup_printf (AGENT_LABEL_NODE "=%s", cfg->node_name);
  r[1] = g_strdup_printf (AGENT_LABEL_PROJECT "=%s", project);
  r[2] = g_strdup (extra);
  return r;
}

/* The ID of our container of @project/@service, and its state. */
static char *
own_container (DockerClient *dc, const char *project, const char *service, char **ret_state, GError **error)
{
  g_autofree char *f_service = g_strdup_printf (AGENT_LABEL_SERVICE "=%s", service);
  g_auto (GStrv) filters = own_filters (project, f_service);
  g_autoptr (JsonArray) list = docker_container_list (dc, (const char *const *) filters, error);
  if (list == NULL)
    return NULL;
  if (json_array_get_length (list) == 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_NOT_FOUND, "no container of %s/%s on node %s", project, service,
                   cfg->node_name);
      return NULL;
    }
  JsonObject *c = json_array_get_object_element (list, 0);
  if (ret_state)
    *ret_state = g_strdup (json_object_get_string_member_with_default (c, "State", ""));
  return g_strdup (json_object_get_string_member_with_default (c, "Id", ""));
}

static void
respond_problem_error (CaraHttpRequest *req, const GError *error)
{
  guint status = 502;
  if (g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
    status = 404;
  else if (g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT))
    status = 409;
  cara_http_respond_problem (req, status, error->message);
}

static gint64
persistent_bytes (DockerClient *dc, const char *project)
{
  g_autoptr (JsonNode) df = NULL;
  g_auto (GStrv) filters = own_filters (project, AGENT_LABEL_VOLUME_TYPE "=Persistent");
  g_autoptr (JsonArray) mine = docker_volume_list (dc, (const char *const *) filters, NULL);
  gint64 total = 0;
  if (mine == NULL || !docker_call (dc, "GET", "/system/df", NULL, &df, NULL) || df == NULL
      || !JSON_NODE_HOLDS_OBJECT (df))
    return 0;
  JsonObject *o = json_node_get_object (df);
  JsonArray *vols = json_object_has_member (o, "Volumes") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "Volumes"))
                      ? json_object_get_array_member (o, "Volumes") : NULL;
  for (guint i = 0; vols && i < json_array_get_length (vols); i++)
    {
      JsonObject *v = json_array_get_object_element (vols, i);
      const char *name = json_object_get_string_member_with_default (v, "Name", "");
      for (guint j = 0; j < json_array_get_length (mine); j++)
        if (g_strcmp0 (name, json_object_get_string_member_with_default (json_array_get_object_element (mine, j),
                                                                         "Name", "")) == 0)
          {
            JsonNode *u = json_object_get_member (v, "UsageData");
            if (u && JSON_NODE_HOLDS_OBJECT (u))
              total += MAX (0, json_object_get_int_member_with_default (json_node_get_object (u), "Size", 0));
          }
    }
  return total;
}

/* ---------------------------------------------------------------- old node: stop, serve */

void
volume_copy_handle_stop (CaraHttpRequest *req, gpointer user_data)
{
  const char *project = cara_http_request_get_param (req, "project");
  const char *t = cara_http_request_get_query (req, "timeout");
  int timeout = t && *t ? atoi (t) : (int) cfg->stop_timeout_s;
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, &error);
  if (dc == NULL)
    {
      respond_problem_error (req, error);
      return;
    }
  volume_hold_set (project, VOLUME_HOLD_SOURCE, g_get_monotonic_time ());
  g_auto (GStrv) filters = own_filters (project, NULL);
  /* Twice: a reconcile that was under way when the hold came may have started one again. */
  for (int round = 0; round < 2; round++)
    {
      g_autoptr (JsonArray) list = docker_container_list (dc, (const char *const *) filters, &error);
      if (list == NULL)
        {
          respond_problem_error (req, error);
          return;
        }
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonObject *c = json_array_get_object_element (list, i);
          const char *id = json_object_get_string_member_with_default (c, "Id", "");
          if (g_strcmp0 (json_object_get_string_member_with_default (c, "State", ""), "running") != 0)
            continue;
          if (!docker_container_stop (dc, id, timeout, &error) && !g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
            {
              g_prefix_error (&error, "stop %.12s: ", id);
              respond_problem_error (req, error);
              return;
            }
          g_clear_error (&error);
          cara_log_project (G_LOG_LEVEL_INFO, project, "Stopped container %.12s for a move", id);
        }
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bytesTotal");
  json_builder_add_int_value (b, persistent_bytes (dc, project));
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cara_http_respond_json (req, 200, root);
}

void
volume_copy_handle_resume (CaraHttpRequest *req, gpointer user_data)
{
  const char *project = cara_http_request_get_param (req, "project");
  volume_hold_clear (project);
  agent_worker_recheck (worker, project);
  cara_log_project (G_LOG_LEVEL_MESSAGE, project, "Move of %s abandoned: running it here again", project);
  cara_http_respond_empty (req, 204);
}

typedef struct {
  CaraHttpStream *stream;
  GCancellable *cancel;
  char *project, *id, *path, *transfer;
  gnutls_hash_hd_t sum;
  gint64 bytes;
  gboolean client_gone;
} SendJob;

static void
send_job_free (SendJob *j)
{
  cara_http_stream_unref (j->stream);
  g_object_unref (j->cancel);
  g_free (j->project);
  g_free (j->id);
  g_free (j->path);
  g_free (j->transfer);
  if (j->sum)
    gnutls_hash_deinit (j->sum, NULL);
  g_free (j);
}

static void
send_closed (gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
  g_object_unref (data);
}

static gboolean
send_chunk (const char *data, gsize len, gpointer user_data)
{
  SendJob *j = user_data;
  /* Back-pressure: never more than SEND_QUEUE in memory, whatever the size of the volume. */
  while (cara_http_stream_get_queued (j->stream) > SEND_QUEUE && cara_http_stream_is_open (j->stream))
    g_usleep (500);
  if (!cara_http_stream_write (j->stream, data, len))
    {
      j->client_gone = TRUE;
      return FALSE;
    }
  gnutls_hash (j->sum, data, len);
  j->bytes += (gint64) len;
  return TRUE;
}

static gpointer
send_thread (gpointer data)
{
  SendJob *j = data;
  g_autoptr (GError) error = NULL;
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, &error);
  gboolean ok = dc && docker_archive_get (dc, j->id, j->path, send_chunk, j, j->cancel, &error) && !j->client_gone;
  TransferResult *t = g_new0 (TransferResult, 1);
  t->sha256 = digest_finish (g_steal_pointer (&j->sum));
  t->bytes = j->bytes;
  t->at = g_get_monotonic_time ();
  if (!ok)
    t->error = g_strdup (error ? error->message : "the receiver went away");
  cara_log_project (ok ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING, j->project, "Sent %s of %s: %" G_GINT64_FORMAT
                    " bytes, sha256 %s%s%s", j->path, j->project, j->bytes, t->sha256, ok ? "" : "; failed: ",
                    ok ? "" : t->error);
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init (&it, transfers);
    while (g_hash_table_iter_next (&it, NULL, &v))
      if (t->at - ((TransferResult *) v)->at > TRANSFER_KEEP_USEC)
        g_hash_table_iter_remove (&it);
    g_hash_table_replace (transfers, g_strdup (j->transfer), t);
  }
  /* Stored before the end of the stream: the receiver asks for it once it has read everything. */
  cara_http_stream_close (j->stream);
  send_job_free (j);
  return NULL;
}

void
volume_copy_handle_archive (CaraHttpRequest *req, gpointer user_data)
{
  const char *project = cara_http_request_get_param (req, "project");
  const char *service = cara_http_request_get_query (req, "service");
  const char *path = cara_http_request_get_query (req, "path");
  const char *transfer = cara_http_request_get_query (req, "transfer");
  g_autoptr (GError) error = NULL;
  g_autofree char *state = NULL;
  if (service == NULL || path == NULL || *path != '/' || transfer == NULL || *transfer == '\0')
    {
      cara_http_respond_problem (req, 400, "service, path (absolute) and transfer are required");
      return;
    }
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, &error);
  g_autofree char *id = dc ? own_container (dc, project, service, &state, &error) : NULL;
  if (id == NULL)
    {
      respond_problem_error (req, error);
      return;
    }
  if (g_strcmp0 (state, "running") == 0 || g_strcmp0 (state, "restarting") == 0)
    {
      g_autofree char *detail = g_strdup_printf ("container of %s/%s is %s: stop it before copying its volumes",
                                                 project, service, state);
      cara_http_respond_problem (req, 409, detail);
      return;
    }
  SendJob *j = g_new0 (SendJob, 1);
  j->cancel = g_cancellable_new ();
  j->project = g_strdup (project);
  j->id = g_steal_pointer (&id);
  j->path = g_strdup (path);
  j->transfer = g_strdup (transfer);
  j->sum = digest_new ();
  j->stream = cara_http_respond_stream_bulk (req, 200, "application/x-tar", send_closed, g_object_ref (j->cancel));
  g_thread_unref (g_thread_new ("volume-send", send_thread, j));
}

void
volume_copy_handle_transfer (CaraHttpRequest *req, gpointer user_data)
{
  const char *id = cara_http_request_get_param (req, "id");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    TransferResult *t = g_hash_table_lookup (transfers, id);
    if (t == NULL)
      {
        g_autofree char *detail = g_strdup_printf ("transfer %s is unknown or not finished", id);
        cara_http_respond_problem (req, 404, detail);
        return;
      }
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "sha256");
    json_builder_add_string_value (b, t->sha256);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, t->bytes);
    if (t->error)
      {
        json_builder_set_member_name (b, "error");
        json_builder_add_string_value (b, t->error);
      }
    json_builder_end_object (b);
  }
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cara_http_respond_json (req, 200, root);
}

/* ---------------------------------------------------------------- new node: prepare, receive */

static gboolean purge_local (DockerClient *dc, const char *project, GError **error);

typedef struct {
  CaraBytePipe *pipe;
  gnutls_hash_hd_t sum;
  gint64 bytes;
  gboolean write_failed;
} RecvState;

static gboolean
recv_chunk (const char *data, gsize len, gpointer user_data)
{
  RecvState *s = user_data;
  gnutls_hash (s->sum, data, len);
  s->bytes += (gint64) len;
  if (!cara_byte_pipe_write (s->pipe, data, len))
    {
      s->write_failed = TRUE; /* Docker stopped reading: its answer says why */
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  char *id, *dir, *version;
  CaraBytePipe *pipe;
  GError *error;
} PutJob;

static gpointer
put_thread (gpointer data)
{
  PutJob *p = data;
  docker_archive_put_pipe (cfg->docker_host, p->version, p->id, p->dir, p->pipe, &p->error);
  return NULL;
}

/* One volume: the relay's tar into our created container, checked against the sender's SHA-256. */
static gboolean
receive_volume (DockerClient *dc, const char *project, JsonObject *v, GCancellable *cancel, GError **error)
{
  const char *volume = json_object_get_string_member_with_default (v, "name", "");
  const char *service = json_object_get_string_member_with_default (v, "service", "");
  const char *mount = json_object_get_string_member_with_default (v, "mountPath", "");
  const char *transfer = json_object_get_string_member_with_default (v, "transfer", "");
  g_autofree char *id = own_container (dc, project, service, NULL, error);
  if (id == NULL)
    return FALSE;
  g_autoptr (CaraBytePipe) pipe = cara_byte_pipe_new (PUT_PIPE);
  PutJob put = { .id = id, .dir = g_path_get_dirname (mount), .version = g_strdup (docker_client_get_api_version (dc)),
                 .pipe = pipe };
  GThread *th = g_thread_new ("volume-put", put_thread, &put);

  g_autoptr (CaraHttpClient) server = server_client_new (cfg);
  cara_http_client_set_timeout (server, 0);
  cara_http_client_set_buffer_size (server, 512 * 1024);
  g_autofree char *ep = cara_http_escape (project);
  g_autofree char *ev = cara_http_escape (volume);
  g_autofree char *et = cara_http_escape (transfer);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s/move/volumes/%s?transfer=%s", ep, ev, et);
  RecvState s = { .pipe = pipe, .sum = digest_new () };
  g_autoptr (GError) get_error = NULL;
  gboolean got = cara_http_client_stream (server, "GET", path, NULL, NULL, 0, recv_chunk, &s, cancel, &get_error);
  cara_byte_pipe_close_write (pipe); /* the end of the tar for Docker */
  g_thread_join (th);
  g_free (put.dir);
  g_free (put.version);
  g_autofree char *sha = digest_finish (s.sum);
  if (put.error)
    {
      g_propagate_prefixed_error (error, put.error, "volume %s: ", volume);
      return FALSE;
    }
  if (!got || s.write_failed)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "volume %s: the copy stream broke after %" G_GINT64_FORMAT
                   " bytes: %s", volume, s.bytes, get_error ? get_error->message : "Docker stopped reading");
      return FALSE;
    }
  /* The sender's checksum of the same stream, read once it is complete. */
  g_autofree char *tpath = g_strdup_printf ("/api/v1/projects/%s/move/transfers/%s", ep, et);
  g_autoptr (JsonNode) answer = NULL;
  cara_http_client_set_timeout (server, 10000);
  if (!cara_http_client_json (server, "GET", tpath, NULL, NULL, &answer, error))
    {
      g_prefix_error (error, "volume %s: the sender's checksum: ", volume);
      return FALSE;
    }
  JsonObject *a = answer && JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  const char *their_sha = a ? json_object_get_string_member_with_default (a, "sha256", "") : "";
  gint64 their_bytes = a ? json_object_get_int_member_with_default (a, "bytes", -1) : -1;
  const char *their_error = a ? json_object_get_string_member_with_default (a, "error", NULL) : NULL;
  if (their_error != NULL)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "volume %s: the sender failed: %s", volume, their_error);
      return FALSE;
    }
  if (their_bytes != s.bytes || g_strcmp0 (their_sha, sha) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED,
                   "volume %s: checksum mismatch: sent %" G_GINT64_FORMAT " bytes sha256 %s, received %" G_GINT64_FORMAT
                   " bytes sha256 %s", volume, their_bytes, their_sha, s.bytes, sha);
      return FALSE;
    }
  cara_log_project (G_LOG_LEVEL_INFO, project, "Received volume %s of %s: %" G_GINT64_FORMAT " bytes, sha256 %s",
                    volume, project, s.bytes, sha);
  return TRUE;
}

void
volume_copy_handle_receive (CaraHttpRequest *req, gpointer user_data)
{
  const char *project = cara_http_request_get_param (req, "project");
  gsize len = 0;
  const char *body = cara_http_request_get_body (req, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = cara_json_parse (body, (gssize) len, &error); /* depth-checked */
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      cara_http_respond_problem (req, 400, error ? error->message : "the body must be a JSON object");
      return;
    }
  JsonObject *o = json_node_get_object (root);
  JsonNode *pn = json_object_get_member (o, "project");
  JsonNode *vn = json_object_get_member (o, "volumes");
  g_autoptr (CaraProject) p = pn ? cara_project_from_json (pn, &error) : NULL;
  if (p == NULL || vn == NULL || !JSON_NODE_HOLDS_ARRAY (vn) || g_strcmp0 (p->metadata.name, project) != 0)
    {
      cara_http_respond_problem (req, 400, error ? error->message : "project (of this name) and volumes[] are required");
      return;
    }
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, &error);
  if (dc == NULL)
    {
      respond_problem_error (req, error);
      return;
    }
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    if (g_hash_table_contains (receiving, project))
      {
        g_autofree char *detail = g_strdup_printf ("project %s is being received already", project);
        cara_http_respond_problem (req, 409, detail);
        return;
      }
    g_hash_table_insert (receiving, g_strdup (project), g_object_ref (cancel));
  }
  volume_hold_set (project, VOLUME_HOLD_RECEIVER, g_get_monotonic_time ());
  gboolean ok = reconcile_prepare (dc, cfg, p, &error);
  if (!ok)
    g_prefix_error (&error, "prepare on node %s: ", cfg->node_name);
  JsonArray *vols = json_node_get_array (vn);
  for (guint i = 0; ok && i < json_array_get_length (vols); i++)
    ok = !g_cancellable_is_cancelled (cancel)
         && receive_volume (dc, project, json_array_get_object_element (vols, i), cancel, &error);
  if (!ok && error == NULL)
    g_set_error (&error, CARA_ERROR, CARA_ERROR_CONFLICT, "the move was abandoned");
  if (!ok)
    {
      /* Whoever aborts the move may have purged before we got here: clean up after ourselves. */
      g_autoptr (GError) local = NULL;
      cara_log_project (G_LOG_LEVEL_WARNING, project, "Receiving %s failed: %s", project, error->message);
      if (!purge_local (dc, project, &local))
        cara_log_project (G_LOG_LEVEL_WARNING, project, "Removing the partial copy of %s: %s", project, local->message);
    }
  {
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    g_hash_table_remove (receiving, project);
    g_cond_broadcast (&receive_done);
  }
  if (!ok)
    respond_problem_error (req, error);
  else
    cara_http_respond_empty (req, 204);
}


/* ---------------------------------------------------------------- both: purge */

/* Our containers and Persistent volumes of a project no longer placed here: the old node's after a
 * move, or what a failed move left on the new one.  CONFLICT when it is placed here. */
static gboolean
purge_local (DockerClient *dc, const char *project, GError **error)
{
  g_autoptr (GPtrArray) placed = agent_worker_list (worker);
  for (guint i = 0; i < placed->len; i++)
    if (g_strcmp0 (((CaraProject *) placed->pdata[i])->metadata.name, project) == 0)
      {
        g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT, "project %s is placed on node %s: its data stays",
                     project, cfg->node_name);
        return FALSE;
      }
  if (!reconcile_teardown (dc, cfg, project, error))
    return FALSE;
  volume_hold_clear (project);
  g_auto (GStrv) filters = own_filters (project, AGENT_LABEL_VOLUME_TYPE "=Persistent");
  g_autoptr (JsonArray) vols = docker_volume_list (dc, (const char *const *) filters, error);
  if (vols == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (vols); i++)
    {
      g_autoptr (GError) local = NULL;
      const char *name = json_object_get_string_member_with_default (json_array_get_object_element (vols, i), "Name", "");
      /* In use a moment longer while a teardown of the worker's removes the same containers. */
      for (int attempt = 0; attempt < 20; attempt++)
        {
          g_clear_error (&local);
          if (docker_volume_remove (dc, name, &local) || !g_error_matches (local, CARA_ERROR, CARA_ERROR_CONFLICT))
            break;
          g_usleep (250 * 1000);
        }
      if (local != NULL && !g_error_matches (local, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      cara_log_project (G_LOG_LEVEL_MESSAGE, project, "Removed Persistent volume %s (the project is not placed here)",
                        name);
    }
  return TRUE;
}

void
volume_copy_handle_purge (CaraHttpRequest *req, gpointer user_data)
{
  const char *project = cara_http_request_get_param (req, "project");
  g_autoptr (GError) error = NULL;
  {
    /* A receive under way stops first (and cleans up after itself). */
    G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    GCancellable *c = g_hash_table_lookup (receiving, project);
    if (c)
      g_cancellable_cancel (c);
    while (g_hash_table_contains (receiving, project))
      if (!g_cond_wait_until (&receive_done, &lock, deadline))
        break;
  }
  DockerClient *dc = docker_client_for_thread (cfg->docker_host, &error);
  if (dc == NULL || !purge_local (dc, project, &error))
    {
      respond_problem_error (req, error);
      return;
    }
  cara_http_respond_empty (req, 204);
}
