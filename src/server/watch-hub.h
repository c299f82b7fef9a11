/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The watch hub (SPEC §3 watch API): one thread per cara-server that LISTENs on cara_events once
 * and fans every change out to the open watch streams as NDJSON lines
 * {"type":"ADDED|MODIFIED|DELETED","object":{...}}.  Changes made through any replica arrive here
 * because every write NOTIFYs in its transaction; events become visible in resourceVersion order
 * (store.h), so reading `events WHERE rv > last` after each notification misses none.  Streams are
 * CaraHttpStreams (no worker thread held while idle); a BOOKMARK line every WATCH_HEARTBEAT keeps
 * idle connections alive and tells the client the newest resourceVersion. */

#include <glib.h>

#include "cara-http-server.h"

#define WATCH_HEARTBEAT_USEC (15 * G_USEC_PER_SEC)
#define WATCH_MAX_QUEUED (16 * 1024 * 1024)
#define WATCH_DEFAULT_MAX_WATCHERS 4096

typedef struct _WatchHub WatchHub;

typedef enum {
  WATCH_KIND_NODE,
  WATCH_KIND_PROJECT,
  WATCH_KIND_EVENT, /* cluster events (store.h): lines {"type":"ADDED","object":{event}} */
} WatchKind;

typedef struct {
  WatchKind kind;
  const char *node_ref; /* projects only: only those placed on this node; NULL for all */
  gboolean has_rv;      /* resume after @rv; else ADDED for every current object first */
  gint64 rv;
  /* events only: the filters of GET /api/v1/events (NULL/0: any) */
  const char *event_project;
  const char *event_node;
  const char *event_type;
  gint64 event_since_usec;
} WatchRequest;

/* @heartbeat_usec: how often idle streams get a BOOKMARK line (0: WATCH_HEARTBEAT_USEC). */
WatchHub *watch_hub_start (guint max_watchers, gint64 heartbeat_usec);
void watch_hub_stop (WatchHub *h);

/* Takes a reference on @stream.  Fails with CARA_ERROR_UNAVAILABLE when the hub is at its limit
 * of watchers. */
gboolean watch_hub_add (WatchHub *h, CaraHttpStream *stream, const WatchRequest *wr, GError **error);
guint watch_hub_count (WatchHub *h);
gboolean watch_hub_is_full (WatchHub *h);

/* {"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":..,
 * "reason":..,"message":..}} and a newline. */
char *watch_error_line (guint code, const char *reason, const char *message);
