/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "cara-log.h"

static gboolean log_debug;
static gboolean log_to_journal;
static char *log_program;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "notice";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

static const char *
field_string (const GLogField *fields, gsize n, const char *key)
{
  for (gsize i = 0; i < n; i++)
    if (g_strcmp0 (fields[i].key, key) == 0)
      return fields[i].length < 0 ? fields[i].value : NULL;
  return NULL;
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_DEBUG)) && !log_debug)
    return G_LOG_WRITER_HANDLED;

  if (log_to_journal && g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  /* Readable line on stderr: "cara-server[123]: warning: message (project=web)". */
  const char *message = field_string (fields, n_fields, "MESSAGE");
  const char *project = field_string (fields, n_fields, "CARA_PROJECT");
  const char *node = field_string (fields, n_fields, "CARA_NODE");
  const char *service = field_string (fields, n_fields, "CARA_SERVICE");
  g_autoptr (GString) line = g_string_new (NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *ts = g_date_time_format (now, "%H:%M:%S");
  g_string_append_printf (line, "%s.%03d %s[%d]: ", ts, g_date_time_get_microsecond (now) / 1000,
                          log_program ? log_program : g_get_prgname (), (int) getpid ());
  if (!(level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)))
    g_string_append_printf (line, "%s: ", level_name (level));
  g_string_append (line, message ? message : "");
  if (project || node || service)
    {
      g_string_append (line, " (");
      gboolean first = TRUE;
      if (node)
        {
          g_string_append_printf (line, "node=%s", node);
          first = FALSE;
        }
      if (project)
        {
          g_string_append_printf (line, "%sproject=%s", first ? "" : " ", project);
          first = FALSE;
        }
      if (service)
        g_string_append_printf (line, "%sservice=%s", first ? "" : " ", service);
      g_string_append_c (line, ')');
    }
  g_string_append_c (line, '\n');
  fputs (line->str, stderr);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
cara_log_init (const char *program, gboolean debug)
{
  g_free (log_program);
  log_program = g_strdup (program);
  log_debug = debug || g_getenv ("CARA_DEBUG") != NULL;
  log_to_journal = g_log_writer_is_journald (fileno (stderr));
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      g_log_set_writer_func (writer, NULL, NULL);
      g_once_init_leave (&once, 1);
    }
}

gboolean
cara_log_debug_enabled (void)
{
  return log_debug;
}

void
cara_log_full (const char *domain, GLogLevelFlags level, const char *project, const char *node,
               const char *service, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);

  GLogField fields[6];
  gsize n = 0;
  fields[n++] = (GLogField){ "MESSAGE", message, -1 };
  fields[n++] = (GLogField){ "GLIB_DOMAIN", domain ? domain : "caravanserai", -1 };
  fields[n++] = (GLogField){ "PRIORITY", NULL, -1 };
  if (project)
    fields[n++] = (GLogField){ "CARA_PROJECT", project, -1 };
  if (node)
    fields[n++] = (GLogField){ "CARA_NODE", node, -1 };
  if (service)
    fields[n++] = (GLogField){ "CARA_SERVICE", service, -1 };

  /* PRIORITY as syslog number, as g_log_structured would set it. */
  static const char *prio[] = { "3", "2", "4", "5", "6", "7" };
  int idx = (level & G_LOG_LEVEL_ERROR) ? 0 : (level & G_LOG_LEVEL_CRITICAL) ? 1
          : (level & G_LOG_LEVEL_WARNING) ? 2 : (level & G_LOG_LEVEL_MESSAGE) ? 3
          : (level & G_LOG_LEVEL_INFO) ? 4 : 5;
  fields[2].value = prio[idx];
  g_log_structured_array (level, fields, n);
}
