/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib-unix.h>

#include "store-listen.h"

#include "cara-error.h"
#include "store-private.h"

struct _StoreListener {
  PGconn *conn;
  GSource *source;
  StoreListenCallbacks cb;
  gpointer user_data;
};

static gboolean
readable_cb (gint fd, GIOCondition cond, gpointer user_data)
{
  StoreListener *l = user_data;
  gboolean any = FALSE;
  PGnotify *n;

  if (!PQconsumeInput (l->conn))
    {
      g_autofree char *why = g_strdup (PQerrorMessage (l->conn));
      g_strchomp (why);
      /* The callback may free @l: nothing of it is touched afterwards. */
      l->cb.lost (why[0] != '\0' ? why : "connection closed", l->user_data);
      return G_SOURCE_REMOVE;
    }
  while ((n = PQnotifies (l->conn)) != NULL)
    {
      any = TRUE;
      PQfreemem (n);
    }
  if (any)
    l->cb.notified (l->user_data);
  return G_SOURCE_CONTINUE;
}

StoreListener *
store_listen_start (GMainContext *context, const StoreListenCallbacks *cb, gpointer user_data, GError **error)
{
  g_autoptr (PGconn) conn = store_connect_new (error);
  g_autoptr (PGresult) r = NULL;
  StoreListener *l;

  if (conn == NULL)
    return NULL;
  r = PQexec (conn, "LISTEN cara_events");
  if (PQresultStatus (r) != PGRES_COMMAND_OK)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_UNAVAILABLE, "LISTEN: %s", PQerrorMessage (conn));
      return NULL;
    }
  PQsetnonblocking (conn, 1);
  l = g_new0 (StoreListener, 1);
  l->cb = *cb;
  l->user_data = user_data;
  l->conn = g_steal_pointer (&conn);
  l->source = g_unix_fd_source_new (PQsocket (l->conn), G_IO_IN | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (l->source, G_SOURCE_FUNC (readable_cb), l, NULL);
  g_source_attach (l->source, context);
  return l;
}

void
store_listener_free (StoreListener *l)
{
  if (l == NULL)
    return;
  g_source_destroy (l->source);
  g_source_unref (l->source);
  PQfinish (l->conn);
  g_free (l);
}
