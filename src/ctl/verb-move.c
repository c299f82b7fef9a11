/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl move project NAME --to NODE [--wait] [--discard-data] (SPEC §14) */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cara-error.h"
#include "ctl.h"

#define POLL_USEC (200 * 1000)
#define BAR_WIDTH 30

static char *
format_bytes (gint64 n)
{
  return g_format_size_full ((guint64) MAX (n, 0), G_FORMAT_SIZE_IEC_UNITS);
}

/* One line, rewritten in place on a terminal. */
static void
show_progress (JsonObject *m, gboolean tty)
{
  const char *phase = ctl_str (m, "phase");
  gint64 done = ctl_int (m, "bytesCopied"), total = ctl_int (m, "bytesTotal");
  g_autofree char *d = format_bytes (done);
  g_autofree char *t = format_bytes (total);
  if (!tty)
    {
      printf (_("%s: %s (%s of %s)\n"), phase, ctl_str (m, "message"), d, t);
      fflush (stdout);
      return;
    }
  guint fill = total > 0 ? (guint) MIN (BAR_WIDTH, done * BAR_WIDTH / total) : 0;
  char bar[BAR_WIDTH + 1];
  memset (bar, '#', fill);
  memset (bar + fill, '-', BAR_WIDTH - fill);
  bar[BAR_WIDTH] = '\0';
  int pct = total > 0 ? (int) MIN (100, done * 100 / total) : 0;
  printf ("\r\033[K%-9s [%s] %3d%% %s / %s", phase, bar, pct, d, t);
  fflush (stdout);
}

static int
wait_move (Ctl *ctl, const char *name, const char *to, gint64 timeout, GError **error)
{
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
  gint64 deadline = g_get_monotonic_time () + timeout;
  gboolean tty = isatty (STDOUT_FILENO) && !ctl->quiet;
  g_autofree char *last = NULL;
  for (;;)
    {
      g_autoptr (JsonNode) node = ctl_get (ctl, path, error);
      if (node == NULL)
        return -1;
      JsonObject *m = ctl_obj (ctl_obj (json_node_get_object (node), "status"), "migration");
      const char *phase = ctl_str (m, "phase");
      if (!ctl->quiet && m != NULL)
        {
          g_autofree char *now = g_strdup_printf ("%s %s %" G_GINT64_FORMAT, phase, ctl_str (m, "message"),
                                                  tty ? ctl_int (m, "bytesCopied") : 0);
          if (g_strcmp0 (now, last) != 0)
            show_progress (m, tty);
          g_free (last);
          last = g_steal_pointer (&now);
        }
      if (g_str_equal (phase, "Done"))
        {
          if (tty)
            printf ("\n");
          if (!ctl->quiet)
            printf (_("project/%s moved to node %s\n"), name, to);
          return 0;
        }
      if (g_str_equal (phase, "Failed"))
        {
          if (tty)
            printf ("\n");
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("move of project %s failed: %s"), name,
                       ctl_str (m, "message"));
          return -1;
        }
      if (g_get_monotonic_time () > deadline)
        {
          if (tty)
            printf ("\n");
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, _("timed out waiting for the move of project %s (%s)"),
                       name, *phase ? phase : "?");
          return -1;
        }
      g_usleep (POLL_USEC);
    }
}

int
ctl_verb_move (Ctl *ctl, CtlArgs *args, GError **error)
{
  const char *to = ctl_opt_string (args, "to");
  gboolean discard = ctl_opt_bool (args, "discard-data");
  gint64 timeout = 0;
  g_autofree char *name = ctl_one_name (args, "projects", _("expected: project NAME"), error);
  if (name == NULL)
    return -1;
  if (to == NULL || *to == '\0')
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("--to NODE is required: the node to move the project to"));
      return -1;
    }
  if (!ctl_wait_timeout (args, &timeout, error))
    return -1;
  g_autofree char *esc = cara_http_escape (name);
  g_autofree char *eto = cara_http_escape (to);
  g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s/move?node=%s%s", esc, eto,
                                           discard ? "&discardData=true" : "");
  if (!ctl_request (ctl, "POST", path, NULL, NULL, NULL, error))
    return -1;
  if (!ctl->quiet)
    printf (discard ? _("project/%s is moving to node %s without its data\n")
                    : _("project/%s is moving to node %s\n"), name, to);
  fflush (stdout);
  if (!ctl_opt_bool (args, "wait"))
    return 0;
  return wait_move (ctl, name, to, timeout, error);
}
