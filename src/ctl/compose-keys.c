/* SPDX-License-Identifier: Apache-2.0 */
/* The Compose converter: Every key of a Compose mapping checked against its table of rules: mapped, ignored with a
 * warning, or an error; unknown keys are errors with a "did you mean". */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cara-error.h"
#include "compose-conv.h"

const char conv_ignored_why[] = N_("ignored: it changes nothing here");

static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];
      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

static const KeyRule *
find_rule (const KeyRule *rules, const char *key)
{
  for (const KeyRule *r = rules; r->key != NULL; r++)
    if (g_str_equal (r->key, key))
      return r;
  return NULL;
}

static void
unknown_key (Conv *c, const KeyRule *rules, const char *path, const char *key)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;

  for (const KeyRule *r = rules; r->key != NULL; r++)
    {
      guint d = edit_distance (key, r->key);
      if (d < best_d)
        best_d = d, best = r->key;
    }
  if (best != NULL && best_d <= MAX (2u, (guint) strlen (key) / 3))
    ctl_compose_error (c->diag, path, _("unknown key (did you mean \"%s\"?)"), best);
  else
    ctl_compose_error (c->diag, path, _("unknown key"));
}

/* Checks every key of @o against @rules: unknown keys and unsupported ones are errors, ignored
 * ones warnings.  Returns FALSE when any was an error. */
gboolean
conv_check_keys (Conv *c, JsonObject *o, const KeyRule *rules, const char *path)
{
  CtlKeyIter it;
  const char *k;
  JsonNode *v;
  gboolean ok = TRUE;

  ctl_key_iter_init (&it, o);
  while (ctl_key_iter_next (&it, &k, &v))
    {
      g_autofree char *kp = conv_join (path, k);
      const KeyRule *r = find_rule (rules, k);

      if (r == NULL && g_str_has_prefix (k, "x-"))
        ctl_compose_warn (c->diag, kp, _("extension field ignored"));
      else if (r == NULL)
        {
          unknown_key (c, rules, kp, k);
          ok = FALSE;
        }
      else if (r->action == KEY_IGNORED)
        ctl_compose_warn (c->diag, kp, "%s", _(r->why));
      else if (r->action == KEY_UNSUPPORTED)
        {
          ctl_compose_error (c->diag, kp, "%s", _(r->why));
          ok = FALSE;
        }
    }
  return ok;
}
