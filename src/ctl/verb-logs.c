/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl logs PROJECT[/SERVICE] [-f] [--tail N] [--timestamps]: the server relays the agent's
 * container logs as chunked text; all services interleaved with a prefix when none is named. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cara-error.h"
#include "ctl.h"

static gboolean
write_chunk (const char *data, gsize len, gpointer user_data)
{
  if (fwrite (data, 1, len, stdout) != len)
    return FALSE; /* reader went away (pipe closed): stop quietly */
  fflush (stdout);
  return TRUE;
}

static void
on_interrupt (int sig)
{
  /* Ctrl+C ends a follow: that is how it is meant to stop, not a failure. */
  _exit (0);
}

int
ctl_verb_logs (Ctl *ctl, CtlArgs *args, GError **error)
{
  /* Logs are the containers' own text: there is no object to print as json or yaml. */
  const char *output = ctl_opt_string (args, "output");
  if (output && !g_str_equal (output, "table"))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("logs does not support -o %s: it prints the containers' output as it is"),
                   output);
      return -1;
    }
  const char *target = args->positional->pdata[0];
  g_autofree char *project = g_strdup (target);
  char *slash = strchr (project, '/');
  const char *service = NULL;
  if (slash)
    {
      *slash = '\0';
      service = slash + 1;
    }
  if (*project == '\0' || (service && *service == '\0'))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid target '%s': expected PROJECT or PROJECT/SERVICE"), target);
      return -1;
    }
  const char *tail = ctl_opt_string (args, "tail");
  guint64 n = 0;
  if (tail && !g_str_equal (tail, "all") && !g_ascii_string_to_unsigned (tail, 10, 0, G_MAXINT, &n, NULL))
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid --tail '%s': a number of lines or 'all'"), tail);
      return -1;
    }

  g_autofree char *esc = cara_http_escape (project);
  g_autoptr (GString) path = g_string_new (NULL);
  g_string_printf (path, "/api/v1/projects/%s/logs", esc);
  char sep = '?';
  if (service)
    {
      g_autofree char *s = cara_http_escape (service);
      g_string_append_printf (path, "%cservice=%s", sep, s);
      sep = '&';
    }
  if (ctl_opt_bool (args, "follow"))
    {
      g_string_append_printf (path, "%cfollow=true", sep);
      sep = '&';
    }
  if (tail && !g_str_equal (tail, "all"))
    {
      g_string_append_printf (path, "%ctail=%" G_GUINT64_FORMAT, sep, n);
      sep = '&';
    }
  if (ctl_opt_bool (args, "timestamps"))
    g_string_append_printf (path, "%ctimestamps=true", sep);

  struct sigaction sa = { .sa_handler = on_interrupt };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  if (!cara_http_client_stream (ctl_client (ctl), "GET", path->str, NULL, NULL, 0, write_chunk, NULL, NULL, error))
    {
      ctl_explain_error (ctl, error);
      return -1;
    }
  return 0;
}
