/* SPDX-License-Identifier: Apache-2.0 */
/* The move routes (SPEC §14): POST /api/v1/projects/{name}/move, and the two the target node's
 * agent calls while it copies: the relay of a volume's tar from the old node's agent, and the
 * sender's checksum of it.  The relay streams with back-pressure (its own thread, at most
 * QUEUE_LIMIT bytes queued), never holding a volume in memory, and writes bytesCopied about once
 * a second. */
#define G_LOG_DOMAIN "cara-migration"
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "api-streams.h"
#include "api.h"
#include "cara-error.h"
#include "cara-json.h"
#include "cara-log.h"
#include "cara-tls.h"
#include "migration.h"
#include "server-auth.h"
#include "store.h"

#define QUEUE_LIMIT (1024 * 1024)
#define PROGRESS_USEC G_USEC_PER_SEC
#define ANSWER_TIMEOUT_USEC (15 * G_USEC_PER_SEC)

static gboolean
query_true (CaraHttpRequest *req, const char *key)
{
  const char *v = cara_http_request_get_query (req, key);
  return v != NULL && (g_str_equal (v, "true") || g_str_equal (v, "1"));
}

void
api_projects_move (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  const char *node = cara_http_request_get_query (req, "node");
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) error = NULL;

  if (node == NULL || *node == '\0')
    {
      cara_http_respond_problem (req, 400, "node: the query parameter ?node=NODE (the target) is required");
      return;
    }
  if (!migration_request (name, node, query_true (req, "discardData"), &p, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = cara_project_to_json (p);
  cara_http_respond_json (req, 202, json);
}

/* The move of @req's project, for its target's agent: Copying, and the caller is that node. */
static CaraProject *
copying_project (CaraHttpRequest *req)
{
  g_autoptr (CaraProject) p = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_get_project (cara_http_request_get_param (req, "name"), &p, &error))
    {
      cara_http_respond_error (req, error);
      return NULL;
    }
  CaraMigration *m = p->status.migration;
  if (m == NULL || m->phase != CARA_MIGRATION_PHASE_COPYING)
    {
      g_autofree char *detail = g_strdup_printf ("project %s is not being copied", p->metadata.name);
      cara_http_respond_problem (req, 409, detail);
      return NULL;
    }
  g_autofree char *what = g_strdup_printf ("the move of project %s to node %s", p->metadata.name, m->to);
  if (!server_auth_check_node (req, m->to, what, &error))
    {
      cara_http_respond_error (req, error);
      return NULL;
    }
  return g_steal_pointer (&p);
}

typedef struct {
  gint refs;
  GMutex lock;
  GCond cond;
  char *project;
  char *url;
  char *secret;
  CaraHttpStream *stream;
  gint cancelled;     /* atomic */
  gboolean decided;   /* the agent's answer is known */
  gboolean ok;        /* ... and it is a 2xx */
  gboolean finished;
  guint status;
  char *failure;
  GByteArray *err_body;
  gint64 pending;     /* bytes not yet in bytesCopied */
  gint64 last_flush;
} Relay;

static Relay *
relay_ref (Relay *r)
{
  g_atomic_int_inc (&r->refs);
  return r;
}

static void
relay_unref (Relay *r)
{
  if (!g_atomic_int_dec_and_test (&r->refs))
    return;
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r->project);
  g_free (r->url);
  g_free (r->secret);
  if (r->stream)
    cara_http_stream_unref (r->stream);
  g_free (r->failure);
  g_byte_array_unref (r->err_body);
  g_free (r);
}

static void
relay_closed (gpointer data)
{
  Relay *r = data;
  g_atomic_int_set (&r->cancelled, 1);
  g_mutex_lock (&r->lock);
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  relay_unref (r);
}

typedef struct {
  gint64 delta;
  gboolean over; /* the move is no longer copying (aborted, or done by someone else) */
} Progress;

static gboolean
progress_mutate (CaraProject *p, gpointer user_data, GError **error)
{
  Progress *pr = user_data;
  if (p->status.migration == NULL || p->status.migration->phase != CARA_MIGRATION_PHASE_COPYING)
    {
      pr->over = TRUE;
      return FALSE;
    }
  p->status.migration->bytes_copied += pr->delta;
  return TRUE;
}

static void
relay_flush (Relay *r)
{
  g_autoptr (GError) error = NULL;
  Progress pr = { .delta = r->pending };
  if (pr.delta == 0)
    return;
  r->pending = 0;
  r->last_flush = g_get_monotonic_time ();
  if (!store_update_project (r->project, progress_mutate, &pr, NULL, &error))
    g_debug ("Progress of the move of %s: %s", r->project, error->message);
  if (pr.over)
    {
      cara_log_project (G_LOG_LEVEL_MESSAGE, r->project, "The move of %s ended: stopping its copy", r->project);
      g_atomic_int_set (&r->cancelled, 1);
    }
}

static size_t
relay_header (char *data, size_t size, size_t n, void *user_data)
{
  Relay *r = user_data;
  size_t len = size * n;
  guint status = 0;
  if (len > 5 && strncmp (data, "HTTP/", 5) == 0 && sscanf (data, "HTTP/%*s %u", &status) == 1)
    r->status = status;
  else if (((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) && r->status >= 200 && r->status < 300)
    {
      g_mutex_lock (&r->lock);
      r->ok = r->decided = TRUE;
      g_cond_broadcast (&r->cond);
      g_mutex_unlock (&r->lock);
    }
  return len;
}

static size_t
relay_write (char *data, size_t size, size_t n, void *user_data)
{
  Relay *r = user_data;
  size_t len = size * n;
  if (!r->ok)
    {
      api_streams_keep_error_body (r->err_body, data, len);
      return len;
    }
  if (!api_streams_wait_answered (&r->lock, &r->cond, &r->stream, &r->cancelled))
    return 0;
  /* Back-pressure: while the receiver lags, stop reading from the sender. */
  while (cara_http_stream_get_queued (r->stream) > QUEUE_LIMIT && cara_http_stream_is_open (r->stream)
         && !g_atomic_int_get (&r->cancelled))
    g_usleep (500);
  if (!cara_http_stream_write (r->stream, data, len))
    return 0;
  r->pending += (gint64) len;
  if (g_get_monotonic_time () - r->last_flush >= PROGRESS_USEC)
    relay_flush (r);
  return len;
}

static int
relay_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  Relay *r = user_data;
  return g_atomic_int_get (&r->cancelled) ? 1 : 0;
}

static gpointer
relay_thread (gpointer data)
{
  Relay *r = data;
  CURL *curl = curl_easy_init ();
  struct curl_slist *headers = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  if (r->secret && *r->secret)
    {
      g_autofree char *h = g_strdup_printf ("Authorization: Bearer %s", r->secret);
      headers = curl_slist_append (headers, h);
    }
  curl_easy_setopt (curl, CURLOPT_URL, r->url);
  cara_tls_setup_curl (curl); /* the one TLS policy, as the other relays */
  if (api_streams_agent_ca ())
    curl_easy_setopt (curl, CURLOPT_CAINFO, api_streams_agent_ca ());
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, relay_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, relay_write);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, r);
  curl_easy_setopt (curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, relay_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, r);
  CURLcode rc = curl_easy_perform (curl);
  curl_easy_cleanup (curl);
  curl_slist_free_all (headers);
  relay_flush (r);

  g_mutex_lock (&r->lock);
  if (rc != CURLE_OK && !g_atomic_int_get (&r->cancelled))
    {
      r->failure = g_strdup (*errbuf ? errbuf : curl_easy_strerror (rc));
      cara_log_project (G_LOG_LEVEL_WARNING, r->project, "Relay of a volume of %s ended: %s", r->project, r->failure);
    }
  r->decided = r->finished = TRUE;
  g_cond_broadcast (&r->cond);
  /* A broken sender ends the stream early: the receiver's checksum check catches it. */
  if (r->stream)
    cara_http_stream_close (r->stream);
  g_mutex_unlock (&r->lock);
  store_thread_disconnect ();
  relay_unref (r);
  return NULL;
}

void
api_projects_move_volume (CaraHttpRequest *req, gpointer user_data)
{
  const char *volume = cara_http_request_get_param (req, "volume");
  const char *transfer = cara_http_request_get_query (req, "transfer");
  g_autoptr (CaraProject) p = copying_project (req);
  const char *service = NULL, *mount = NULL;
  g_autoptr (GError) error = NULL;
  if (p == NULL)
    return;
  if (transfer == NULL || *transfer == '\0')
    {
      cara_http_respond_problem (req, 400, "transfer: the query parameter ?transfer=ID is required");
      return;
    }
  if (!migration_volume_mount (p, volume, &service, &mount))
    {
      g_autofree char *detail = g_strdup_printf ("volume %s of project %s is mounted by no service", volume,
                                                 p->metadata.name);
      cara_http_respond_problem (req, 404, detail);
      return;
    }
  g_autoptr (CaraHttpClient) agent = migration_agent_client (p->status.migration->from, &error);
  if (agent == NULL)
    {
      cara_http_respond_problem (req, 502, error->message);
      return;
    }
  g_autofree char *secret = NULL;
  if (!store_get_node_agent_secret (p->status.migration->from, &secret, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autofree char *ep = cara_http_escape (p->metadata.name);
  g_autofree char *es = cara_http_escape (service);
  g_autofree char *em = cara_http_escape (mount);
  g_autofree char *et = cara_http_escape (transfer);
  Relay *r = g_new0 (Relay, 1);
  r->refs = 1;
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->project = g_strdup (p->metadata.name);
  r->url = g_strdup_printf ("%s/api/v1/migrate/%s/archive?service=%s&path=%s&transfer=%s",
                            cara_http_client_get_base_url (agent), ep, es, em, et);
  r->secret = g_steal_pointer (&secret);
  r->err_body = g_byte_array_new ();
  r->last_flush = g_get_monotonic_time ();
  g_thread_unref (g_thread_new ("move-relay", relay_thread, relay_ref (r)));

  gint64 deadline = g_get_monotonic_time () + ANSWER_TIMEOUT_USEC;
  g_mutex_lock (&r->lock);
  while (!r->decided)
    if (!g_cond_wait_until (&r->cond, &r->lock, deadline))
      break;
  if (r->ok)
    {
      r->stream = cara_http_respond_stream_bulk (req, 200, "application/x-tar", relay_closed, relay_ref (r));
      g_cond_broadcast (&r->cond);
      g_mutex_unlock (&r->lock);
      relay_unref (r);
      return;
    }
  g_atomic_int_set (&r->cancelled, 1);
  g_autofree char *detail = NULL;
  if (r->failure)
    detail = g_strdup_printf ("cannot reach the agent of node %s: %s", p->status.migration->from, r->failure);
  else if (!r->decided)
    detail = g_strdup_printf ("the agent of node %s did not answer", p->status.migration->from);
  else
    detail = g_strdup_printf ("the agent of node %s answered %u: %.*s", p->status.migration->from, r->status,
                              (int) MIN (r->err_body->len, 2000), (const char *) r->err_body->data);
  g_mutex_unlock (&r->lock);
  relay_unref (r);
  cara_http_respond_problem (req, 502, detail);
}

void
api_projects_move_transfer (CaraHttpRequest *req, gpointer user_data)
{
  const char *id = cara_http_request_get_param (req, "id");
  g_autoptr (CaraProject) p = copying_project (req);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = NULL;
  if (p == NULL)
    return;
  g_autoptr (CaraHttpClient) agent = migration_agent_client (p->status.migration->from, &error);
  g_autofree char *eid = cara_http_escape (id);
  g_autofree char *path = g_strdup_printf ("/api/v1/migrate/transfers/%s", eid);
  if (agent)
    cara_http_client_set_timeout (agent, 10000);
  if (agent == NULL || !cara_http_client_json (agent, "GET", path, NULL, NULL, &answer, &error))
    {
      g_autofree char *detail = g_strdup_printf ("the checksum from node %s: %s", p->status.migration->from,
                                                 error->message);
      cara_http_respond_problem (req, 502, detail);
      return;
    }
  cara_http_respond_json (req, 200, answer);
}
