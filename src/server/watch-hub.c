/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-watch"
#include "config.h"

#include <glib-unix.h>
#include <string.h>

#include "watch-hub.h"

#include "cara-cleanup.h"
#include "cara-error.h"
#include "cara-event.h"
#include "cara-json.h"
#include "store-listen.h"
#include "store.h"

#define RECONNECT_MS 1000
#define EVENTS_BATCH 1000
/* A watch of cluster events starts with at most this many of the newest that match. */
#define WATCH_EVENTS_LISTED 1000

typedef struct {
  CaraHttpStream *stream;
  WatchKind kind;
  char *node_ref;
  GHashTable *matched;  /* names currently matching @node_ref (filtered watches only) */
  gint64 last_rv;       /* newest rv this watcher has been brought up to */
  gboolean dead;
  char *event_project;  /* events: the filters (NULL: any) */
  char *event_node;
  char *event_type;
  gint64 event_since_usec;
} Watcher;

struct _WatchHub {
  guint max;
  gint64 heartbeat_usec;
  gint count; /* atomic: watchers open or being added */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;

  /* hub thread only */
  StoreListener *listener;
  GSource *reconnect_source;
  GSource *heartbeat_source;
  GPtrArray *watchers;
  gint64 last_rv;    /* every event up to this one has been fanned out */
  gboolean synced;   /* connected; last_rv was valid at some point */
  gboolean stale;    /* events came while nobody watched: last_rv lags */
};

/* One event, decoded once and shared by every watcher. */
typedef struct {
  gint64 rv;
  WatchKind kind;
  const char *name;
  const char *type;
  JsonNode *object;
  char *node_ref;
  CaraEvent *event; /* kind Event: the decoded event, for the filters */
  char *line[4]; /* ADDED, MODIFIED, DELETED, and DELETED without the object; built on first use */
} HubEvent;

static WatchKind
kind_from_string (const char *kind)
{
  if (g_ascii_strcasecmp (kind, "Node") == 0)
    return WATCH_KIND_NODE;
  if (g_ascii_strcasecmp (kind, "Event") == 0)
    return WATCH_KIND_EVENT;
  return WATCH_KIND_PROJECT;
}

static const char *
kind_to_string (WatchKind kind)
{
  return kind == WATCH_KIND_NODE ? "Node" : kind == WATCH_KIND_EVENT ? "Event" : "Project";
}

static void
hub_event_clear (HubEvent *e)
{
  g_clear_pointer (&e->object, json_node_unref);
  g_clear_pointer (&e->node_ref, g_free);
  g_clear_pointer (&e->event, cara_event_free);
  for (guint i = 0; i < G_N_ELEMENTS (e->line); i++)
    g_clear_pointer (&e->line[i], g_free);
}

static gboolean
hub_event_init (HubEvent *e, gint64 rv, const char *kind, const char *name, const char *type,
                const char *object_json)
{
  g_autoptr (GError) error = NULL;
  JsonObject *o, *status;

  memset (e, 0, sizeof *e);
  e->rv = rv;
  e->kind = kind_from_string (kind);
  e->name = name;
  e->type = type;
  e->object = cara_json_parse (object_json, -1, &error);
  if (e->object == NULL || !JSON_NODE_HOLDS_OBJECT (e->object))
    {
      g_warning ("Event %" G_GINT64_FORMAT " has a bad object: %s", rv, error ? error->message : "not an object");
      hub_event_clear (e);
      return FALSE;
    }
  /* JSONB does not keep member order: decode and encode again so a watch event looks exactly like
   * a GET of the object. */
  if (e->kind == WATCH_KIND_EVENT)
    {
      e->event = cara_event_from_json (e->object, NULL, NULL);
      if (e->event == NULL)
        {
          hub_event_clear (e);
          return FALSE;
        }
      json_node_unref (e->object);
      e->object = cara_event_to_json (e->event);
      return TRUE;
    }
  if (e->kind == WATCH_KIND_NODE)
    {
      g_autoptr (CaraNode) n = cara_node_from_json (e->object, NULL);
      if (n != NULL)
        {
          json_node_unref (e->object);
          e->object = cara_node_to_json (n);
        }
    }
  else
    {
      g_autoptr (CaraProject) p = cara_project_from_json (e->object, NULL);
      if (p != NULL)
        {
          json_node_unref (e->object);
          e->object = cara_project_to_json (p);
        }
    }
  o = json_node_get_object (e->object);
  status = json_object_has_member (o, "status") ? json_object_get_object_member (o, "status") : NULL;
  if (status != NULL)
    e->node_ref = g_strdup (json_object_get_string_member_with_default (status, "nodeRef", ""));
  return TRUE;
}

static char *
make_line (const char *type, JsonNode *object)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "object");
  json_builder_add_value (b, json_node_copy (object));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = cara_json_to_string (root, FALSE);
  return g_strconcat (text, "\n", NULL);
}

char *
watch_error_line (guint code, const char *reason, const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) obj = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "Status");
  json_builder_set_member_name (b, "apiVersion");
  json_builder_add_string_value (b, "v1");
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, "Failure");
  json_builder_set_member_name (b, "code");
  json_builder_add_int_value (b, code);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  obj = json_builder_get_root (b);
  return make_line ("ERROR", obj);
}

static char *
bookmark_line (WatchKind kind, gint64 rv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) obj = NULL;
  g_autofree char *rvs = g_strdup_printf ("%" G_GINT64_FORMAT, rv);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "apiVersion");
  json_builder_add_string_value (b, CARA_API_VERSION_STRING);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind_to_string (kind));
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "resourceVersion");
  json_builder_add_string_value (b, rvs);
  json_builder_end_object (b);
  json_builder_end_object (b);
  obj = json_builder_get_root (b);
  return make_line ("BOOKMARK", obj);
}

static const char *
event_line (HubEvent *e, const char *type)
{
  guint i = g_str_equal (type, "ADDED") ? 0 : g_str_equal (type, "MODIFIED") ? 1 : 2;

  if (e->line[i] == NULL)
    e->line[i] = make_line (type, e->object);
  return e->line[i];
}

/* DELETED for a watcher the object left (a project moved off its node): only the object's name and
 * resourceVersion, never the spec it now has somewhere else. */
static const char *
left_line (HubEvent *e)
{
  if (e->line[3] == NULL)
    {
      JsonObject *o = json_node_get_object (e->object);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      for (guint i = 0; i < 2; i++)
        {
          const char *key = i == 0 ? "apiVersion" : "kind";
          if (json_object_has_member (o, key))
            {
              json_builder_set_member_name (b, key);
              json_builder_add_value (b, json_node_copy (json_object_get_member (o, key)));
            }
        }
      json_builder_set_member_name (b, "metadata");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, e->name);
      JsonObject *meta = json_object_has_member (o, "metadata") ? json_object_get_object_member (o, "metadata") : NULL;
      if (meta != NULL && json_object_has_member (meta, "resourceVersion"))
        {
          json_builder_set_member_name (b, "resourceVersion");
          json_builder_add_value (b, json_node_copy (json_object_get_member (meta, "resourceVersion")));
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) stub = json_builder_get_root (b);
      e->line[3] = make_line ("DELETED", stub);
    }
  return e->line[3];
}

static void
watcher_free (Watcher *w)
{
  if (w->stream != NULL && cara_http_stream_is_open (w->stream))
    cara_http_stream_close (w->stream);
  g_clear_pointer (&w->stream, cara_http_stream_unref);
  g_free (w->node_ref);
  g_clear_pointer (&w->matched, g_hash_table_unref);
  g_free (w->event_project);
  g_free (w->event_node);
  g_free (w->event_type);
  g_free (w);
}

static void
watcher_end (Watcher *w, guint code, const char *reason, const char *message)
{
  g_autofree char *line = watch_error_line (code, reason, message);

  if (w->dead)
    return;
  cara_http_stream_write (w->stream, line, strlen (line));
  cara_http_stream_close (w->stream);
  w->dead = TRUE;
}

static void
watcher_write (Watcher *w, const char *line)
{
  if (w->dead)
    return;
  if (!cara_http_stream_write (w->stream, line, strlen (line)))
    {
      w->dead = TRUE;
      return;
    }
  if (cara_http_stream_get_queued (w->stream) > WATCH_MAX_QUEUED)
    {
      g_message ("Ending a watch stream that fell too far behind");
      watcher_end (w, 410, "Expired", "the watcher fell too far behind; list and watch again");
    }
}

/* The filters of GET /api/v1/events. */
static gboolean
event_matches (Watcher *w, const CaraEvent *ev)
{
  if (w->event_project != NULL
      && (g_strcmp0 (ev->object_kind, "Project") != 0 || g_strcmp0 (ev->object_name, w->event_project) != 0))
    return FALSE;
  if (w->event_node != NULL && g_strcmp0 (ev->node ? ev->node : "", w->event_node) != 0)
    return FALSE;
  if (w->event_type != NULL && g_strcmp0 (cara_event_type_to_string (ev->type), w->event_type) != 0)
    return FALSE;
  return w->event_since_usec == 0 || ev->time_usec >= w->event_since_usec;
}

static void
deliver (Watcher *w, HubEvent *e)
{
  const char *type = e->type;

  if (w->dead || w->kind != e->kind || e->rv <= w->last_rv)
    return;
  w->last_rv = e->rv;
  if (e->kind == WATCH_KIND_EVENT && !event_matches (w, e->event))
    return;
  if (w->node_ref != NULL)
    {
      gboolean match = g_strcmp0 (e->node_ref, w->node_ref) == 0;
      gboolean was = g_hash_table_contains (w->matched, e->name);

      /* As a field-selector watch: objects entering the filter are ADDED, leaving it DELETED. */
      if (g_str_equal (e->type, "DELETED"))
        {
          if (!match && !was)
            return;
          g_hash_table_remove (w->matched, e->name);
          if (!match)
            {
              watcher_write (w, left_line (e));
              return;
            }
        }
      else if (match)
        {
          type = was ? "MODIFIED" : "ADDED";
          g_hash_table_add (w->matched, g_strdup (e->name));
        }
      else
        {
          if (!was)
            return;
          g_hash_table_remove (w->matched, e->name);
          watcher_write (w, left_line (e));
          return;
        }
    }
  watcher_write (w, event_line (e, type));
}

static void
drop_dead (WatchHub *h)
{
  for (guint i = h->watchers->len; i > 0; i--)
    {
      Watcher *w = h->watchers->pdata[i - 1];

      if (w->dead || !cara_http_stream_is_open (w->stream))
        {
          g_ptr_array_remove_index_fast (h->watchers, i - 1);
          g_atomic_int_add (&h->count, -1);
        }
    }
}

static gboolean
anyone_watches (WatchHub *h, Watcher *only, const char *kind)
{
  WatchKind k = kind_from_string (kind);

  if (only != NULL)
    return only->kind == k;
  for (guint i = 0; i < h->watchers->len; i++)
    if (((Watcher *) h->watchers->pdata[i])->kind == k)
      return TRUE;
  return FALSE;
}

/* Delivers the events in (@after, @upto] (upto < 0: no bound) to @only, or to every watcher when
 * @only is NULL.  Returns the newest rv read. */
static gboolean
pump_events (WatchHub *h, Watcher *only, gint64 after, gint64 upto, gint64 *ret_last, GError **error)
{
  gint64 last = after;

  for (;;)
    {
      g_autoptr (GPtrArray) events = NULL;
      gboolean done = FALSE;

      if (!store_events_since (last, NULL, EVENTS_BATCH, &events, error))
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          StoreEvent *se = events->pdata[i];
          HubEvent e;

          if (upto >= 0 && se->rv > upto)
            {
              done = TRUE;
              break;
            }
          last = se->rv;
          /* Decoding is the costly part: skip events nobody here watches (heartbeats, mostly). */
          if (!anyone_watches (h, only, se->kind))
            continue;
          if (!hub_event_init (&e, se->rv, se->kind, se->name, se->type, se->object))
            continue;
          if (only != NULL)
            deliver (only, &e);
          else
            for (guint j = 0; j < h->watchers->len; j++)
              deliver (h->watchers->pdata[j], &e);
          hub_event_clear (&e);
        }
      if (done || events->len < EVENTS_BATCH)
        break;
    }
  *ret_last = last;
  return TRUE;
}

static void hub_disconnect (WatchHub *h, const char *why);

static void
notified_cb (gpointer user_data)
{
  WatchHub *h = user_data;
  g_autoptr (GError) error = NULL;

  if (h->watchers->len == 0)
    {
      /* Nobody to tell: catch up on the newest rv when a watcher comes. */
      h->stale = TRUE;
      return;
    }
  /* The payload names one event; reading everything after the last one we sent is the same set
   * in rv order, and covers notifications coalesced by PostgreSQL. */
  if (!pump_events (h, NULL, h->last_rv, -1, &h->last_rv, &error))
    {
      hub_disconnect (h, error->message);
      return;
    }
  drop_dead (h);
}

static void
listen_lost_cb (const char *why, gpointer user_data)
{
  hub_disconnect (user_data, why);
}

static const StoreListenCallbacks listen_callbacks = {
  .notified = notified_cb,
  .lost = listen_lost_cb,
};

static void
destroy_source (GSource **s)
{
  if (*s != NULL)
    {
      g_source_destroy (*s);
      g_source_unref (*s);
      *s = NULL;
    }
}

static gboolean
hub_connect (WatchHub *h, GError **error)
{
  g_autoptr (StoreListener) listener = store_listen_start (h->context, &listen_callbacks, h, error);
  gint64 oldest = 0, newest = 0;

  if (listener == NULL)
    return FALSE;
  /* LISTEN is active before we read the newest rv, so nothing falls in between. */
  if (!store_events_range (&oldest, &newest, error))
    return FALSE;
  h->last_rv = newest;
  h->synced = TRUE;
  h->listener = g_steal_pointer (&listener);
  return TRUE;
}

static gboolean
reconnect_cb (gpointer user_data)
{
  WatchHub *h = user_data;
  g_autoptr (GError) error = NULL;

  if (!hub_connect (h, &error))
    {
      g_debug ("Watch hub: %s", error->message);
      return G_SOURCE_CONTINUE;
    }
  g_message ("Watch hub connected to PostgreSQL");
  g_clear_pointer (&h->reconnect_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Lost the event feed: every stream ends with an error event; clients resume from their last
 * resourceVersion (the events table has what they missed) or list again. */
static void
hub_disconnect (WatchHub *h, const char *why)
{
  g_warning ("Watch hub lost PostgreSQL: %s", why);
  g_clear_pointer (&h->listener, store_listener_free);
  h->synced = FALSE;
  for (guint i = 0; i < h->watchers->len; i++)
    watcher_end (h->watchers->pdata[i], 410, "Expired", "the server lost its event feed; watch again");
  drop_dead (h);
  if (h->reconnect_source == NULL)
    {
      h->reconnect_source = g_timeout_source_new (RECONNECT_MS);
      g_source_set_callback (h->reconnect_source, reconnect_cb, h, NULL);
      g_source_attach (h->reconnect_source, h->context);
    }
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  WatchHub *h = user_data;

  for (guint i = 0; i < h->watchers->len; i++)
    {
      Watcher *w = h->watchers->pdata[i];
      g_autofree char *line = bookmark_line (w->kind, MAX (w->last_rv, h->last_rv));
      watcher_write (w, line);
    }
  drop_dead (h);
  return G_SOURCE_CONTINUE;
}

typedef struct {
  WatchHub *hub;
  Watcher *w;
  gboolean has_rv;
  gint64 rv;
} AddJob;

static gboolean
start_listed (WatchHub *h, Watcher *w, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;
  gint64 snap_rv = 0, last = 0;

  if (w->kind == WATCH_KIND_EVENT)
    {
      StoreClusterEventFilter f = { .project = w->event_project, .node = w->event_node, .type = w->event_type,
                                    .since_usec = w->event_since_usec, .limit = WATCH_EVENTS_LISTED };
      if (!store_cluster_events_list (&f, &items, &snap_rv, error))
        return FALSE;
      for (guint i = 0; i < items->len; i++)
        {
          g_autoptr (JsonNode) obj = cara_event_to_json (items->pdata[i]);
          g_autofree char *line = make_line ("ADDED", obj);
          watcher_write (w, line);
        }
      g_ptr_array_set_size (items, 0);
    }
  else if (w->kind == WATCH_KIND_NODE)
    {
      if (!store_list_nodes (&items, &snap_rv, error))
        return FALSE;
    }
  else
    {
      StoreProjectFilter f = { .node_ref = w->node_ref };
      if (!store_list_projects (&f, &items, &snap_rv, error))
        return FALSE;
    }
  for (guint i = 0; i < items->len; i++)
    {
      g_autoptr (JsonNode) obj = NULL;
      g_autofree char *line = NULL;
      const char *name;

      if (w->kind == WATCH_KIND_NODE)
        {
          obj = cara_node_to_json (items->pdata[i]);
          name = ((CaraNode *) items->pdata[i])->metadata.name;
        }
      else
        {
          obj = cara_project_to_json (items->pdata[i]);
          name = ((CaraProject *) items->pdata[i])->metadata.name;
        }
      if (w->node_ref != NULL)
        g_hash_table_add (w->matched, g_strdup (name));
      line = make_line ("ADDED", obj);
      watcher_write (w, line);
    }
  /* Bring it from the snapshot up to where the fan-out is. */
  w->last_rv = snap_rv;
  return pump_events (h, w, snap_rv, h->last_rv, &last, error);
}

static gboolean
start_resumed (WatchHub *h, Watcher *w, gint64 rv, GError **error)
{
  gint64 oldest = 0, newest = 0, last = 0;

  if (!store_events_range (&oldest, &newest, error))
    return FALSE;
  /* Events are trimmed oldest first: if the one right after @rv may be gone, the client must list
   * again. */
  if (oldest > 0 && rv < oldest - 1)
    {
      g_autofree char *msg = g_strdup_printf ("too old resource version: %" G_GINT64_FORMAT
                                              " (oldest kept: %" G_GINT64_FORMAT ")", rv, oldest);
      watcher_end (w, 410, "Expired", msg);
      return TRUE;
    }
  if (rv > MAX (newest, h->last_rv))
    {
      /* Not from this database's history (restored or replaced): the client must list again. */
      g_autofree char *msg = g_strdup_printf ("resource version %" G_GINT64_FORMAT " is newer than the newest "
                                              "event (%" G_GINT64_FORMAT ")", rv, MAX (newest, h->last_rv));
      watcher_end (w, 410, "Expired", msg);
      return TRUE;
    }
  if (w->node_ref != NULL)
    {
      /* What was on the node at @rv is approximated by what is there now (plus what the replay
       * adds): an object that left the node in between is reported when it next changes. */
      StoreProjectFilter f = { .node_ref = w->node_ref };
      g_autoptr (GPtrArray) items = NULL;
      if (!store_list_projects (&f, &items, NULL, error))
        return FALSE;
      for (guint i = 0; i < items->len; i++)
        g_hash_table_add (w->matched, g_strdup (((CaraProject *) items->pdata[i])->metadata.name));
    }
  w->last_rv = rv;
  return pump_events (h, w, rv, h->last_rv, &last, error);
}

static gboolean
catch_up (WatchHub *h, GError **error)
{
  gint64 oldest = 0, newest = 0;

  if (!store_events_range (&oldest, &newest, error))
    return FALSE;
  h->last_rv = MAX (h->last_rv, newest);
  h->stale = FALSE;
  return TRUE;
}

static gboolean
add_job_cb (gpointer user_data)
{
  AddJob *job = user_data;
  WatchHub *h = job->hub;
  Watcher *w = job->w;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (!h->synced)
    {
      watcher_end (w, 503, "ServiceUnavailable", "the server's event feed is not connected; retry");
      ok = TRUE;
    }
  else if (h->stale && !catch_up (h, &error))
    ok = FALSE;
  else if (job->has_rv)
    ok = start_resumed (h, w, job->rv, &error);
  else
    ok = start_listed (h, w, &error);
  g_free (job);
  if (!ok)
    {
      g_warning ("Starting a watch failed: %s", error->message);
      watcher_end (w, 500, "InternalError", "Internal server error");
    }
  if (w->dead)
    {
      watcher_free (w);
      g_atomic_int_add (&h->count, -1);
      return G_SOURCE_REMOVE;
    }
  w->last_rv = MAX (w->last_rv, h->last_rv);
  g_ptr_array_add (h->watchers, w);
  return G_SOURCE_REMOVE;
}

gboolean
watch_hub_add (WatchHub *h, CaraHttpStream *stream, const WatchRequest *wr, GError **error)
{
  Watcher *w;
  AddJob *job;

  if ((guint) g_atomic_int_add (&h->count, 1) >= h->max)
    {
      g_atomic_int_add (&h->count, -1);
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "too many watchers (limit %u)", h->max);
      return FALSE;
    }
  w = g_new0 (Watcher, 1);
  w->stream = cara_http_stream_ref (stream);
  w->kind = wr->kind;
  w->node_ref = g_strdup (wr->node_ref);
  w->event_project = g_strdup (wr->event_project);
  w->event_node = g_strdup (wr->event_node);
  w->event_type = g_strdup (wr->event_type);
  w->event_since_usec = wr->event_since_usec;
  w->matched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  job = g_new0 (AddJob, 1);
  job->hub = h;
  job->w = w;
  job->has_rv = wr->has_rv;
  job->rv = wr->rv;
  g_main_context_invoke (h->context, add_job_cb, job);
  return TRUE;
}

gboolean
watch_hub_is_full (WatchHub *h)
{
  return (guint) g_atomic_int_get (&h->count) >= h->max;
}

guint
watch_hub_count (WatchHub *h)
{
  return (guint) g_atomic_int_get (&h->count);
}

static gpointer
hub_thread (gpointer user_data)
{
  WatchHub *h = user_data;
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (h->context);
  if (!hub_connect (h, &error))
    {
      g_warning ("Watch hub cannot connect yet: %s", error->message);
      h->reconnect_source = g_timeout_source_new (RECONNECT_MS);
      g_source_set_callback (h->reconnect_source, reconnect_cb, h, NULL);
      g_source_attach (h->reconnect_source, h->context);
    }
  h->heartbeat_source = g_timeout_source_new ((guint) MAX (h->heartbeat_usec / 1000, 10));
  g_source_set_callback (h->heartbeat_source, heartbeat_cb, h, NULL);
  g_source_attach (h->heartbeat_source, h->context);
  g_main_loop_run (h->loop);
  /* Run jobs queued before the quit so their watchers are freed. */
  while (g_main_context_iteration (h->context, FALSE))
    ;
  destroy_source (&h->heartbeat_source);
  destroy_source (&h->reconnect_source);
  g_ptr_array_set_size (h->watchers, 0);
  g_clear_pointer (&h->listener, store_listener_free);
  store_thread_disconnect ();
  g_main_context_pop_thread_default (h->context);
  return NULL;
}

WatchHub *
watch_hub_start (guint max_watchers, gint64 heartbeat_usec)
{
  WatchHub *h = g_new0 (WatchHub, 1);

  h->heartbeat_usec = heartbeat_usec > 0 ? heartbeat_usec : WATCH_HEARTBEAT_USEC;
  h->max = max_watchers > 0 ? max_watchers : WATCH_DEFAULT_MAX_WATCHERS;
  h->context = g_main_context_new ();
  h->loop = g_main_loop_new (h->context, FALSE);
  h->watchers = g_ptr_array_new_with_free_func ((GDestroyNotify) watcher_free);
  h->thread = g_thread_new ("watch-hub", hub_thread, h);
  return h;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
watch_hub_stop (WatchHub *h)
{
  if (h == NULL)
    return;
  g_main_context_invoke (h->context, quit_cb, h->loop);
  g_thread_join (h->thread);
  g_ptr_array_unref (h->watchers);
  g_main_loop_unref (h->loop);
  g_main_context_unref (h->context);
  g_free (h);
}
