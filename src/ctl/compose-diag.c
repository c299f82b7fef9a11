/* SPDX-License-Identifier: Apache-2.0 */
/* Compose diagnostics: "FILE:LINE: key.path: message", the line from the libyaml mark of the
 * longest recorded prefix of the path. */
#include "config.h"

#include <string.h>

#include "compose.h"

CtlComposeDiag *
ctl_compose_diag_new (const CaraManifestDoc *doc)
{
  CtlComposeDiag *d = g_new0 (CtlComposeDiag, 1);

  d->doc = doc;
  d->errors = g_ptr_array_new_with_free_func (g_free);
  d->warnings = g_ptr_array_new_with_free_func (g_free);
  return d;
}

void
ctl_compose_diag_free (CtlComposeDiag *d)
{
  if (d == NULL)
    return;
  g_ptr_array_unref (d->errors);
  g_ptr_array_unref (d->warnings);
  g_free (d);
}

guint
ctl_compose_diag_line (const CtlComposeDiag *d, const char *path)
{
  g_autofree char *p = g_strdup (path);

  while (*p != '\0')
    {
      gpointer v;
      char *cut, *bracket;

      if (g_hash_table_lookup_extended (d->doc->lines, p, NULL, &v))
        return GPOINTER_TO_UINT (v);
      cut = strrchr (p, '.');
      bracket = strrchr (p, '[');
      if (bracket != NULL && (cut == NULL || bracket > cut))
        cut = bracket;
      if (cut == NULL)
        break;
      *cut = '\0';
    }
  return d->doc->line;
}

static void add (CtlComposeDiag *d, GPtrArray *to, const char *path, const char *fmt, va_list ap)
  G_GNUC_PRINTF (4, 0);

static void
add (CtlComposeDiag *d, GPtrArray *to, const char *path, const char *fmt, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  guint line = ctl_compose_diag_line (d, path);

  if (*path != '\0')
    g_ptr_array_add (to, g_strdup_printf ("%s:%u: %s: %s", d->doc->file, line, path, msg));
  else
    g_ptr_array_add (to, g_strdup_printf ("%s:%u: %s", d->doc->file, line, msg));
}

void
ctl_compose_error (CtlComposeDiag *d, const char *path, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  add (d, d->errors, path, fmt, ap);
  va_end (ap);
}

void
ctl_compose_warn (CtlComposeDiag *d, const char *path, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  add (d, d->warnings, path, fmt, ap);
  va_end (ap);
}
