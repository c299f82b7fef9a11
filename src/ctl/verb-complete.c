/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl __complete WORD... CURRENT: the candidates for the last word, one per line, from the
 * verb table (verbs, options, option values, resource kinds) and live names asked from the server
 * with a short timeout.  A line ":files" asks the shell to complete file names.  Silent on every
 * error: completion must never print noise into the user's command line. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

typedef struct {
  GPtrArray *out; /* char* */
  const char *cur;
  const char *prefix; /* prepended to every candidate ("--output=") */
} Cands;

static void
add (Cands *c, const char *word)
{
  g_autofree char *full = g_strconcat (c->prefix ? c->prefix : "", word, NULL);
  if (g_str_has_prefix (full, c->cur) && !g_ptr_array_find_with_equal_func (c->out, full, g_str_equal, NULL))
    g_ptr_array_add (c->out, g_steal_pointer (&full));
}

static void
add_options (Cands *c, const CtlOption *opts)
{
  for (const CtlOption *o = opts; o && o->long_name; o++)
    {
      g_autofree char *l = g_strconcat ("--", o->long_name, NULL);
      add (c, l);
      if (o->short_name && strlen (c->cur) >= 1 && c->cur[1] != '-')
        {
          char s[3] = { '-', o->short_name, 0 };
          add (c, s);
        }
    }
}

static const CtlOption *
find_opt (const CtlVerb *verb, const char *word)
{
  const CtlOption *lists[] = { verb ? verb->options : NULL, ctl_global_options };
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (const CtlOption *o = lists[l]; o && o->long_name; o++)
      {
        if (g_str_has_prefix (word, "--") && g_str_equal (word + 2, o->long_name))
          return o;
        if (word[0] == '-' && word[1] == o->short_name && word[1] && word[2] == '\0')
          return o;
      }
  return NULL;
}

/* Names of @kind ("nodes"/"projects") from the server; nothing when it does not answer quickly. */
static void
add_names (Cands *c, Ctl *ctl, const char *kind, const char *prefix)
{
  CaraHttpClient *client = ctl_client (ctl);
  cara_http_client_set_connect_timeout (client, 300);
  cara_http_client_set_timeout (client, 1000);
  g_autofree char *path = g_strdup_printf ("/api/v1/%s", kind);
  g_autoptr (JsonNode) list = NULL;
  if (!cara_http_client_json (client, "GET", path, NULL, NULL, &list, NULL) || list == NULL)
    return;
  JsonArray *items = JSON_NODE_HOLDS_OBJECT (list) ? ctl_arr (json_node_get_object (list), "items") : NULL;
  const char *saved = c->prefix;
  c->prefix = prefix;
  for (guint i = 0; items && i < json_array_get_length (items); i++)
    {
      JsonNode *e = json_array_get_element (items, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        add (c, ctl_meta_name (json_node_get_object (e)));
    }
  c->prefix = saved;
}

static void
complete_value (Cands *c, Ctl *ctl, const CtlOption *o, gboolean *files)
{
  if (o->files)
    *files = TRUE;
  else if (o->choices)
    for (guint i = 0; o->choices[i]; i++)
      add (c, o->choices[i]);
  else if (g_str_equal (o->long_name, "node"))
    add_names (c, ctl, "nodes", NULL);
  else if (g_str_equal (o->long_name, "project"))
    add_names (c, ctl, "projects", NULL);
}

static void
complete_positional (Cands *c, Ctl *ctl, const CtlVerb *verb, GPtrArray *pos)
{
  if (verb->subcommands && pos->len == 0)
    {
      for (guint i = 0; verb->subcommands[i]; i++)
        add (c, verb->subcommands[i]);
      return;
    }
  g_autoptr (GPtrArray) rest = NULL;
  if (verb->subcommands)
    {
      /* After the subcommand, the words as for a verb of its own. */
      rest = g_ptr_array_new ();
      for (guint i = 1; i < pos->len; i++)
        g_ptr_array_add (rest, pos->pdata[i]);
      pos = rest;
    }
  if (verb->args_kind == CTL_ARGS_PROJECT)
    {
      if (pos->len > 0)
        return;
      const char *slash = strchr (c->cur, '/');
      if (slash == NULL)
        {
          add_names (c, ctl, "projects", NULL);
          return;
        }
      /* PROJECT/SERVICE: the services of that project. */
      g_autofree char *project = g_strndup (c->cur, slash - c->cur);
      g_autofree char *esc = cara_http_escape (project);
      g_autofree char *path = g_strdup_printf ("/api/v1/projects/%s", esc);
      g_autofree char *prefix = g_strconcat (project, "/", NULL);
      CaraHttpClient *client = ctl_client (ctl);
      cara_http_client_set_connect_timeout (client, 300);
      cara_http_client_set_timeout (client, 1000);
      g_autoptr (JsonNode) p = NULL;
      if (!cara_http_client_json (client, "GET", path, NULL, NULL, &p, NULL) || p == NULL)
        return;
      JsonArray *services = JSON_NODE_HOLDS_OBJECT (p) ? ctl_arr (ctl_obj (json_node_get_object (p), "spec"), "services") : NULL;
      c->prefix = prefix;
      for (guint i = 0; services && i < json_array_get_length (services); i++)
        add (c, ctl_str (json_node_get_object (json_array_get_element (services, i)), "name"));
      c->prefix = NULL;
      return;
    }
  if (verb->args_kind != CTL_ARGS_KIND_NAMES || verb->kinds == NULL)
    {
      if (g_str_equal (verb->name, "help") && pos->len == 0)
        for (const CtlVerb *v = ctl_verbs; v->name; v++)
          if (!v->hidden)
            add (c, v->name);
      return;
    }
  if (pos->len == 0)
    {
      const char *slash = strchr (c->cur, '/');
      if (slash)
        {
          g_autofree char *kw = g_strndup (c->cur, slash - c->cur);
          const char *kind = ctl_kind_canonical (kw);
          g_autofree char *prefix = g_strconcat (kw, "/", NULL);
          if (kind)
            add_names (c, ctl, kind, prefix);
          return;
        }
      for (guint i = 0; verb->kinds[i]; i++)
        add (c, verb->kinds[i]);
      if (g_str_equal (verb->name, "status"))
        add_names (c, ctl, "projects", NULL);
      return;
    }
  const char *first = pos->pdata[0];
  const char *kind = strchr (first, '/') ? NULL : ctl_kind_canonical (first);
  if (kind == NULL)
    return;
  if ((g_str_equal (verb->name, "drain") || g_str_equal (verb->name, "uncordon") || verb->subcommands) && pos->len > 1)
    return;
  add_names (c, ctl, kind, NULL);
  /* Do not offer what is already on the line. */
  for (guint i = 1; i < pos->len; i++)
    for (guint k = 0; k < c->out->len; k++)
      if (g_str_equal (c->out->pdata[k], pos->pdata[i]))
        g_ptr_array_remove_index (c->out, k--);
}

int
ctl_complete_main (int argc, char **argv)
{
  /* argv: the words after "caractrl", the last one being completed (may be ""). */
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (words, g_strdup ("caractrl"));
  for (int i = 0; i < argc; i++)
    g_ptr_array_add (words, g_strdup (argv[i]));
  if (words->len == 1)
    g_ptr_array_add (words, g_strdup (""));

  /* bash splits "--output=js" into "--output" "=" "js": the current word is then a value. */
  const char *cur = words->pdata[words->len - 1];
  const char *value_of = NULL;
  guint end = words->len - 1; /* words before the current one */
  if (g_str_equal (cur, "=") && words->len >= 3)
    {
      value_of = words->pdata[words->len - 2];
      cur = "";
      end = words->len - 2;
    }
  else if (words->len >= 4 && g_str_equal (words->pdata[words->len - 2], "="))
    {
      value_of = words->pdata[words->len - 3];
      end = words->len - 3;
    }
  /* Earlier "--opt" "=" "value" triples become "--opt=value" for the parser. */
  g_autoptr (GPtrArray) before = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < end; i++)
    {
      const char *w = words->pdata[i];
      if (i + 2 < end && g_str_equal (words->pdata[i + 1], "="))
        {
          g_ptr_array_add (before, g_strconcat (w, "=", (char *) words->pdata[i + 2], NULL));
          i += 2;
        }
      else
        g_ptr_array_add (before, g_strdup (w));
    }

  const CtlVerb *verb = NULL;
  g_autoptr (CtlArgs) args = NULL;
  const char *prev = before->len > 1 ? before->pdata[before->len - 1] : NULL;
  gboolean want_value = FALSE;
  /* Is the previous word an option still waiting for its value? Then parse without it. */
  guint parse_len = before->len;
  {
    g_autoptr (CtlArgs) probe = NULL;
    const CtlVerb *pv = NULL;
    if (prev && prev[0] == '-' && ctl_parse_args ((int) before->len - 1, (char **) before->pdata, 1, &pv, &probe, NULL))
      {
        const CtlOption *o = find_opt (pv, prev);
        if (o && o->type != CTL_OPT_BOOL)
          {
            want_value = TRUE;
            value_of = prev;
            parse_len = before->len - 1;
          }
      }
  }
  g_ptr_array_add (before, NULL);
  if (!ctl_parse_args ((int) parse_len, (char **) before->pdata, 1, &verb, &args, NULL))
    {
      /* Incomplete lines (e.g. "get" with no kind yet) fail the argument count: retry leniently. */
      g_autoptr (GPtrArray) tmp = g_ptr_array_new ();
      for (guint i = 0; i < parse_len; i++)
        g_ptr_array_add (tmp, before->pdata[i]);
      g_ptr_array_add (tmp, (gpointer) "--help"); /* --help skips the count check */
      g_ptr_array_add (tmp, NULL);
      if (!ctl_parse_args ((int) tmp->len - 1, (char **) tmp->pdata, 1, &verb, &args, NULL))
        return 0;
    }

  Ctl ctl = { 0 };
  if (!ctl_setup (&ctl, args, NULL))
    return 0;

  Cands c = { g_ptr_array_new_with_free_func (g_free), cur, NULL };
  gboolean files = FALSE;
  if (value_of)
    {
      const CtlOption *o = find_opt (verb, value_of);
      if (o && o->type != CTL_OPT_BOOL)
        complete_value (&c, &ctl, o, &files);
    }
  else if (!want_value && g_str_has_prefix (cur, "--") && strchr (cur, '='))
    {
      g_autofree char *name = g_strndup (cur, strchr (cur, '=') - cur);
      const CtlOption *o = find_opt (verb, name);
      g_autofree char *prefix = g_strconcat (name, "=", NULL);
      c.prefix = prefix;
      if (o && o->type != CTL_OPT_BOOL)
        complete_value (&c, &ctl, o, &files);
      c.prefix = NULL;
    }
  else if (cur[0] == '-')
    {
      if (verb)
        add_options (&c, verb->options);
      add_options (&c, ctl_global_options);
    }
  else if (verb == NULL)
    {
      for (const CtlVerb *v = ctl_verbs; v->name; v++)
        if (!v->hidden)
          add (&c, v->name);
    }
  else
    complete_positional (&c, &ctl, verb, args->positional);

  for (guint i = 0; i < c.out->len; i++)
    printf ("%s\n", (char *) c.out->pdata[i]);
  if (files)
    printf (":files\n");
  g_ptr_array_unref (c.out);
  g_clear_pointer (&ctl.client, cara_http_client_free);
  g_free (ctl.server);
  g_free (ctl.token);
  g_free (ctl.ca_file);
  return 0;
}

int
ctl_verb_complete (Ctl *ctl, CtlArgs *args, GError **error)
{
  /* Reached only through ctl_complete_main (main.c hands it the raw words). */
  return 0;
}
