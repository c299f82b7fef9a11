/* SPDX-License-Identifier: Apache-2.0 */
/* caractrl: the command line client of cara-server.  One verb table drives dispatch, help and
 * the shell completions (through the hidden `__complete` verb). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cara-error.h"
#include "ctl.h"

G_DEFINE_QUARK (ctl-usage-error-quark, ctl_usage_error)

static const char *const output_choices[] = { "table", "wide", "json", "yaml", "name", NULL };
static const char *const phase_choices[] = { "Pending", "Scheduled", "Running", "Failed", "Terminating",
                                             "Terminated", NULL };
static const char *const kinds_all[] = { "nodes", "projects", "secrets", NULL };
static const char *const kinds_secret[] = { "secret", NULL };
static const char *const kinds_node[] = { "node", NULL };
static const char *const kinds_project[] = { "project", NULL };
static const char *const kinds_status[] = { "project", "node", NULL };
static const char *const rollout_subcommands[] = { "status", "history", "undo", "restart", NULL };

const CtlOption ctl_global_options[] = {
  { "server", 's', CTL_OPT_STRING, "URL", N_("Server URL (default $CARA_SERVER or http://localhost:8080)") },
  { "token", 0, CTL_OPT_STRING, "TOKEN", N_("Bearer token (default $CARA_TOKEN)") },
  { "ca", 0, CTL_OPT_STRING, "FILE", N_("CA certificate to verify an https:// server with (default $CARA_CA)"), NULL, TRUE },
  { "output", 'o', CTL_OPT_STRING, "FORMAT", N_("Output format: table, wide, json, yaml or name"), output_choices },
  { "no-legend", 0, CTL_OPT_BOOL, NULL, N_("Do not print column headers") },
  { "no-pager", 0, CTL_OPT_BOOL, NULL, N_("Do not pipe output into a pager") },
  { "quiet", 'q', CTL_OPT_BOOL, NULL, N_("Print only errors") },
  { "no-color", 0, CTL_OPT_BOOL, NULL, N_("Do not colour the output") },
  { "help", 'h', CTL_OPT_BOOL, NULL, N_("Show this help") },
  { "version", 0, CTL_OPT_BOOL, NULL, N_("Show the client version") },
  { NULL }
};

/* Options of Compose files (SPEC §10), for apply, convert, diff and delete -f. */
#define COMPOSE_OPTIONS \
  { "project-name", 'p', CTL_OPT_STRING, "NAME", N_("Project name of a Compose file (default: its name:, else its directory)") }, \
  { "env-file", 0, CTL_OPT_STRING, "FILE", N_("Variables for a Compose file instead of the .env beside it"), NULL, TRUE }, \
  { "profile", 0, CTL_OPT_STRINGS, "NAME", N_("Enable the Compose services of this profile (repeatable)") }, \
  { "strict", 0, CTL_OPT_BOOL, NULL, N_("Treat warnings about a Compose file as errors") }

static const CtlOption apply_options[] = {
  { "filename", 'f', CTL_OPT_STRINGS, "FILE", N_("Manifest file, directory or - for stdin (repeatable)"), NULL, TRUE },
  { "wait", 0, CTL_OPT_BOOL, NULL, N_("Wait until every project is Running and its services are ready") },
  { "timeout", 0, CTL_OPT_STRING, "DURATION", N_("How long --wait waits (default 5m)") },
  { "force", 0, CTL_OPT_BOOL, NULL, N_("Overwrite live changes made since the last apply") },
  COMPOSE_OPTIONS,
  { NULL }
};

static const CtlOption convert_options[] = {
  { "filename", 'f', CTL_OPT_STRINGS, "FILE", N_("Compose file, or - for stdin (repeatable)"), NULL, TRUE },
  COMPOSE_OPTIONS,
  { NULL }
};

static const CtlOption diff_options[] = {
  { "filename", 'f', CTL_OPT_STRINGS, "FILE", N_("Manifest file, directory or - for stdin (repeatable)"), NULL, TRUE },
  COMPOSE_OPTIONS,
  { NULL }
};

static const CtlOption get_options[] = {
  { "phase", 0, CTL_OPT_STRINGS, "PHASE", N_("Only projects in this phase (repeatable)"), phase_choices },
  { "node", 0, CTL_OPT_STRING, "NODE", N_("Only projects placed on this node") },
  { "watch", 'w', CTL_OPT_BOOL, NULL, N_("After listing, watch for changes") },
  { NULL }
};

static const CtlOption status_options[] = {
  { "lines", 'n', CTL_OPT_STRING, "N", N_("Number of log lines to show (default 10)") },
  { NULL }
};

static const CtlOption delete_options[] = {
  { "filename", 'f', CTL_OPT_STRINGS, "FILE", N_("Delete the resources named in these manifests"), NULL, TRUE },
  { "force", 0, CTL_OPT_BOOL, NULL, N_("Remove at once, without waiting for the agent to tear down") },
  { "wait", 0, CTL_OPT_BOOL, NULL, N_("Wait until the resources are gone") },
  { "timeout", 0, CTL_OPT_STRING, "DURATION", N_("How long --wait waits (default 5m)") },
  COMPOSE_OPTIONS,
  { NULL }
};

static const CtlOption drain_options[] = {
  { "evict", 0, CTL_OPT_BOOL, NULL, N_("Also move the node's projects to other nodes") },
  { NULL }
};

static const CtlOption move_options[] = {
  { "to", 0, CTL_OPT_STRING, "NODE", N_("The node to move the project to") },
  { "wait", 0, CTL_OPT_BOOL, NULL, N_("Wait until the move is done, with a progress bar on a terminal") },
  { "timeout", 0, CTL_OPT_STRING, "DURATION", N_("How long --wait waits (default 5m)") },
  { "discard-data", 0, CTL_OPT_BOOL, NULL, N_("Start on the new node with empty volumes: the data is lost") },
  { NULL }
};

static const CtlOption logs_options[] = {
  { "follow", 'f', CTL_OPT_BOOL, NULL, N_("Keep printing new lines as they come") },
  { "tail", 0, CTL_OPT_STRING, "N", N_("Only the last N lines of each service (default all)") },
  { "timestamps", 0, CTL_OPT_BOOL, NULL, N_("Prefix each line with its time") },
  { NULL }
};

static const char *const event_type_choices[] = { "Normal", "Warning", NULL };
static const CtlOption events_options[] = {
  { "watch", 'w', CTL_OPT_BOOL, NULL, N_("After listing, print new events as they happen") },
  { "project", 0, CTL_OPT_STRING, "PROJECT", N_("Only events about this project") },
  { "node", 0, CTL_OPT_STRING, "NODE", N_("Only events on this node") },
  { "type", 0, CTL_OPT_STRING, "TYPE", N_("Only events of this type: Normal or Warning"), event_type_choices },
  { "since", 0, CTL_OPT_STRING, "WHEN", N_("Only events since a duration ago (1h) or an RFC 3339 time") },
  { NULL }
};

/* port-forward */
static const CtlOption port_forward_options[] = {
  { "address", 0, CTL_OPT_STRING, "ADDR", N_("Local address to listen on (default 127.0.0.1)") },
  { NULL }
};

static const CtlOption create_options[] = {
  { "from-literal", 0, CTL_OPT_STRINGS, "KEY=VALUE", N_("A key and its value (repeatable)") },
  { "from-file", 0, CTL_OPT_STRINGS, "[KEY=]PATH", N_("A key whose value is a file's contents; the key defaults to the file's name (repeatable)"), NULL, TRUE },
  { "server", 0, CTL_OPT_STRING, "HOST", N_("Registry host of a registry secret, e.g. registry.example.com:5000") },
  { "username", 0, CTL_OPT_STRING, "USER", N_("User name of a registry secret") },
  { "password-stdin", 0, CTL_OPT_BOOL, NULL, N_("Read the registry password from standard input") },
  { NULL }
};

/* exec */
static const CtlOption exec_options[] = {
  { "stdin", 'i', CTL_OPT_BOOL, NULL, N_("Pass standard input to the command") },
  { "tty", 't', CTL_OPT_BOOL, NULL, N_("Run the command in a terminal (raw mode here, window size followed)") },
  { NULL }
};

static const CtlOption rollout_options[] = {
  { "to-revision", 0, CTL_OPT_STRING, "N", N_("rollout undo: the revision to go back to (default: the previous one)") },
  { "timeout", 0, CTL_OPT_STRING, "DURATION", N_("How long rollout status waits (default 5m)") },
  { NULL }
};

static const CtlOption no_options[] = { { NULL } };

static int verb_help (Ctl *ctl, CtlArgs *args, GError **error);

const CtlVerb ctl_verbs[] = {
  { "apply", NULL, 0, 0, ctl_verb_apply, apply_options, "-f FILE|DIR|-",
    N_("Create or update resources from manifests"),
    N_("Reads every document of every file (YAML or JSON, separated by ---), checks them all, then creates "
       "each resource or updates it if it exists. Prints one line per object: created, configured or unchanged. "
       "A Compose file (top-level services: and no kind:) is converted first, as convert shows."),
    CTL_ARGS_NONE },
  { "convert", NULL, 0, 0, ctl_verb_convert, convert_options, "-f FILE",
    N_("Print the Project manifest a Compose file becomes"),
    N_("Reads a Compose file as docker compose does (interpolation from the environment and .env, profiles), "
       "prints the Project manifest as YAML (or -o json) and applies nothing. Warnings go to stderr; "
       "with --strict they are errors."),
    CTL_ARGS_NONE },
  { "diff", NULL, 0, 0, ctl_verb_diff, diff_options, "-f FILE|DIR|-",
    N_("Show how manifests differ from the live objects"),
    N_("A unified diff (diff -u) of each live object against what apply would make of it. Exits 0 when "
       "nothing differs, 1 when something does, and more on trouble."),
    CTL_ARGS_NONE },
  { "get", NULL, 1, G_MAXUINT, ctl_verb_get, get_options, "nodes|projects|secrets [NAME...]",
    N_("List nodes, projects or secrets"),
    N_("Resource types: nodes (node, no), projects (project, proj) and secrets (secret); names may also be given "
       "as project/NAME. Secrets show their keys, never a value."),
    CTL_ARGS_KIND_NAMES, kinds_all },
  { "describe", NULL, 1, G_MAXUINT, ctl_verb_describe, no_options, "node|project|secret NAME...",
    N_("Show every detail of a node, project or secret"),
    N_("With -o json or yaml, the objects themselves (a list for several names), as get prints them."),
    CTL_ARGS_KIND_NAMES, kinds_all },
  { "status", NULL, 0, G_MAXUINT, ctl_verb_status, status_options, "[project|node NAME...]",
    N_("Show the state of a project, a node or the cluster"),
    N_("Without arguments, summarises the cluster: nodes by state and projects by phase. With -o json or "
       "yaml, a project or node is printed as the object get prints (no log lines: see logs), the cluster as "
       "{server, serverVersion, nodes, projects, failed} with counts by state and phase."),
    CTL_ARGS_KIND_NAMES, kinds_status },
  { "delete", NULL, 0, G_MAXUINT, ctl_verb_delete, delete_options, "project|node|secret NAME...|-f FILE",
    N_("Delete projects, nodes or secrets"), N_("A secret that a project uses is not deleted (the server names the projects)."),
    CTL_ARGS_KIND_NAMES, kinds_all },
  { "create", NULL, 2, 3, ctl_verb_create, create_options, "secret [registry] NAME",
    N_("Create a secret from literals, files or registry credentials"),
    N_("create secret NAME takes --from-literal KEY=VALUE and --from-file [KEY=]PATH (repeatable); create secret "
       "registry NAME takes --server, --username and --password-stdin. Values are sent to the server, which "
       "keeps them encrypted and never shows them again."),
    CTL_ARGS_KIND_NAMES, kinds_secret },
  { "logs", NULL, 1, 1, ctl_verb_logs, logs_options, "PROJECT[/SERVICE]",
    N_("Show the logs of a project's containers"),
    N_("Without a service, the lines of all services are interleaved, each with its service's name."),
    CTL_ARGS_PROJECT },
  { "events", NULL, 0, 0, ctl_verb_events, events_options, "",
    N_("Show what happened in the cluster"),
    N_("Events oldest first: scheduling decisions, nodes going NotReady, images pulled, containers started, "
       "restarted, unhealthy or killed for lack of memory, drains. LAST SEEN is how long ago."),
    CTL_ARGS_NONE },
  { "port-forward", NULL, 2, G_MAXUINT, ctl_verb_port_forward, port_forward_options,
    "PROJECT/SERVICE [LOCAL:]REMOTE...", N_("Forward local ports to a service through the server"),
    N_("Each connection to a local port is relayed by the server to the agent running the service."),
    CTL_ARGS_PROJECT },
  { "exec", NULL, 2, G_MAXUINT, ctl_verb_exec, exec_options, "PROJECT/SERVICE -- COMMAND [ARG...]",
    N_("Run a command in a service's container"),
    N_("The server relays to the agent running the service, which runs the command with Docker's exec. "
       "Exits with the command's exit code. With -t the local terminal is put in raw mode, so Ctrl-C reaches "
       "the command; put -- before the command so that its options are not read as caractrl's."),
    CTL_ARGS_PROJECT },
  { "drain", NULL, 1, 2, ctl_verb_drain, drain_options, "node NAME",
    N_("Stop placing projects on a node"), N_("With --evict, its projects are moved to other nodes."),
    CTL_ARGS_KIND_NAMES, kinds_node },
  { "uncordon", NULL, 1, 2, ctl_verb_uncordon, no_options, "node NAME",
    N_("Allow projects on a drained node again"), NULL, CTL_ARGS_KIND_NAMES, kinds_node },
  { "move", NULL, 1, 2, ctl_verb_move, move_options, "project NAME --to NODE",
    N_("Move a project, with its data, to another node"),
    N_("The services stop on the old node, each Persistent volume is copied to the new node through the server "
       "(checked with SHA-256), then the project starts there and the old copy is removed. Any failure before "
       "the switch leaves the project running on the old node with its data. With --discard-data (for a node "
       "that is gone for good) it starts on the new node with empty volumes."),
    CTL_ARGS_KIND_NAMES, kinds_project },
  { "node", NULL, 2, 2, ctl_verb_node, no_options, "reset-token NAME",
    N_("Bind a new node token to a node (admin) and print it"),
    N_("For a node registered while authorisation was off, or an agent that lost its token: the join token "
       "never takes over an existing node."),
    CTL_ARGS_NONE },
  { "rollout", NULL, 2, 3, ctl_verb_rollout, rollout_options, "status|history|undo|restart project NAME",
    N_("Follow, list, undo or restart a project's updates"),
    N_("status waits until the project's current spec is rolled out (exit 0) or its update failed (exit 1); "
       "history lists the kept revisions with their change causes; undo applies the previous revision's spec "
       "(or --to-revision N) as a new revision; restart rolls every service without a spec change."),
    CTL_ARGS_KIND_NAMES, kinds_project, FALSE, rollout_subcommands },
  { "version", NULL, 0, 0, ctl_verb_version, no_options, "",
    N_("Show the client and server versions"), NULL, CTL_ARGS_NONE },
  { "help", NULL, 0, 1, verb_help, no_options, "[COMMAND]", N_("Show help for a command"), NULL, CTL_ARGS_NONE },
  { "__complete", NULL, 0, G_MAXUINT, ctl_verb_complete, no_options, "WORDS...",
    "Print completions (used by the shell scripts)", NULL, CTL_ARGS_NONE, NULL, TRUE },
  { NULL }
};

const CtlVerb *
ctl_find_verb (const char *name)
{
  for (const CtlVerb *v = ctl_verbs; v->name; v++)
    {
      if (g_str_equal (v->name, name))
        return v;
      for (guint i = 0; v->aliases && v->aliases[i]; i++)
        if (g_str_equal (v->aliases[i], name))
          return v;
    }
  return NULL;
}

void
ctl_args_free (CtlArgs *a)
{
  if (a == NULL)
    return;
  g_ptr_array_unref (a->positional);
  g_hash_table_unref (a->values);
  g_hash_table_unref (a->lists);
  g_free (a);
}

static void
append_value (CtlArgs *a, const CtlOption *o, const char *value)
{
  if (o->type != CTL_OPT_STRINGS)
    {
      g_hash_table_replace (a->values, g_strdup (o->long_name), g_strdup (value));
      return;
    }
  GPtrArray *list = g_hash_table_lookup (a->lists, o->long_name);
  if (list == NULL)
    {
      list = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (a->lists, g_strdup (o->long_name), list);
    }
  g_ptr_array_add (list, g_strdup (value));
}

gboolean
ctl_opt_bool (CtlArgs *a, const char *name)
{
  return a != NULL && (g_hash_table_contains (a->values, name) || g_hash_table_contains (a->lists, name));
}

const char *
ctl_opt_string (CtlArgs *a, const char *name)
{
  return a ? g_hash_table_lookup (a->values, name) : NULL;
}

GPtrArray *
ctl_opt_strings (CtlArgs *a, const char *name)
{
  GPtrArray *list = a ? g_hash_table_lookup (a->lists, name) : NULL;
  return list ? g_ptr_array_ref (list) : NULL;
}

static const CtlOption *
find_option (const CtlOption *opts, const char *long_name, char short_name)
{
  for (const CtlOption *o = opts; o && o->long_name; o++)
    if ((long_name && g_str_equal (o->long_name, long_name)) || (short_name && o->short_name == short_name))
      return o;
  return NULL;
}

static const CtlOption *
lookup_option (const CtlVerb *verb, const char *long_name, char short_name)
{
  const CtlOption *o = verb ? find_option (verb->options, long_name, short_name) : NULL;
  return o ? o : find_option (ctl_global_options, long_name, short_name);
}

static gboolean
check_choice (const CtlOption *o, const char *value, GError **error)
{
  if (o->choices == NULL || g_strv_contains ((const char *const *) o->choices, value))
    return TRUE;
  g_autofree char *list = g_strjoinv (", ", (char **) o->choices);
  g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid value '%s' for --%s (expected one of: %s)"), value,
               o->long_name, list);
  return FALSE;
}

/* The CLI grammar: options (global or the verb's) anywhere on the line, "--opt=value",
 * "--opt value", "-o value", "-ovalue", bundled short flags ("-qw"), "--" ends options. */
gboolean
ctl_parse_args (int argc, char **argv, guint start, const CtlVerb **ret_verb, CtlArgs **ret_args,
                GError **error)
{
  g_autoptr (CtlArgs) a = g_new0 (CtlArgs, 1);
  a->positional = g_ptr_array_new_with_free_func (g_free);
  a->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  a->lists = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  const CtlVerb *verb = NULL;
  gboolean only_positional = FALSE;

  for (int i = (int) start; i < argc; i++)
    {
      const char *arg = argv[i];
      if (only_positional || arg[0] != '-' || arg[1] == '\0')
        {
          if (verb == NULL)
            {
              verb = ctl_find_verb (arg);
              if (verb == NULL)
                {
                  g_set_error (error, CTL_USAGE_ERROR, 0, _("unknown command '%s'"), arg);
                  return FALSE;
                }
              a->verb = verb;
            }
          else
            g_ptr_array_add (a->positional, g_strdup (arg));
          continue;
        }
      if (g_str_equal (arg, "--"))
        {
          only_positional = TRUE;
          continue;
        }
      if (arg[1] == '-')
        {
          g_autofree char *name = g_strdup (arg + 2);
          char *eq = strchr (name, '=');
          const char *value = NULL;
          if (eq)
            {
              *eq = '\0';
              value = eq + 1;
            }
          const CtlOption *o = lookup_option (verb, name, 0);
          if (o == NULL)
            {
              g_set_error (error, CTL_USAGE_ERROR, 0, _("unrecognized option '--%s'"), name);
              return FALSE;
            }
          if (o->type == CTL_OPT_BOOL)
            {
              if (value)
                {
                  g_set_error (error, CTL_USAGE_ERROR, 0, _("option '--%s' doesn't allow an argument"), name);
                  return FALSE;
                }
              append_value (a, o, "true");
              continue;
            }
          if (value == NULL)
            {
              if (i + 1 >= argc)
                {
                  g_set_error (error, CTL_USAGE_ERROR, 0, _("option '--%s' requires an argument"), name);
                  return FALSE;
                }
              value = argv[++i];
            }
          if (!check_choice (o, value, error))
            return FALSE;
          append_value (a, o, value);
          continue;
        }
      /* short options, possibly bundled */
      for (const char *p = arg + 1; *p; p++)
        {
          const CtlOption *o = lookup_option (verb, NULL, *p);
          if (o == NULL)
            {
              g_set_error (error, CTL_USAGE_ERROR, 0, _("invalid option -- '%c'"), *p);
              return FALSE;
            }
          if (o->type == CTL_OPT_BOOL)
            {
              append_value (a, o, "true");
              continue;
            }
          const char *value = p[1] ? p + 1 : NULL;
          if (value == NULL)
            {
              if (i + 1 >= argc)
                {
                  g_set_error (error, CTL_USAGE_ERROR, 0, _("option requires an argument -- '%c'"), *p);
                  return FALSE;
                }
              value = argv[++i];
            }
          if (!check_choice (o, value, error))
            return FALSE;
          append_value (a, o, value);
          break;
        }
    }

  if (verb && !ctl_opt_bool (a, "help"))
    {
      guint n = a->positional->len;
      if (n < verb->min_args || n > verb->max_args)
        {
          if (verb->max_args == 0)
            g_set_error (error, CTL_USAGE_ERROR, 0, _("'%s' takes no arguments"), verb->name);
          else
            g_set_error (error, CTL_USAGE_ERROR, 0, _("wrong number of arguments for '%s' (usage: caractrl %s %s)"),
                         verb->name, verb->name, verb->usage);
          return FALSE;
        }
    }
  *ret_verb = verb;
  *ret_args = g_steal_pointer (&a);
  return TRUE;
}

/* Help is wrapped to the terminal's width, 80 columns when not on a terminal. */
static guint
help_width (void)
{
  struct winsize ws;
  if (isatty (STDOUT_FILENO) && ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    return ws.ws_col;
  return 80;
}

/* Prints @text from column @col (the cursor is there already), breaking lines between words
 * before @width and starting continuation lines at column @indent.  Newlines in @text are kept. */
static void
print_wrapped (const char *text, guint col, guint indent, guint width)
{
  g_auto (GStrv) paragraphs = g_strsplit (text, "\n", -1);
  for (guint p = 0; paragraphs[p]; p++)
    {
      if (p > 0)
        {
          printf ("\n%*s", (int) indent, "");
          col = indent;
        }
      g_auto (GStrv) words = g_strsplit (paragraphs[p], " ", -1);
      gboolean first = TRUE;
      for (guint i = 0; words[i]; i++)
        {
          if (*words[i] == '\0')
            continue;
          guint w = ctl_display_width (words[i]);
          if (!first && col + 1 + w > width)
            {
              printf ("\n%*s", (int) indent, "");
              col = indent;
              first = TRUE;
            }
          if (!first)
            {
              putchar (' ');
              col++;
            }
          fputs (words[i], stdout);
          col += w;
          first = FALSE;
        }
    }
  putchar ('\n');
}

static void
print_options (const CtlOption *opts)
{
  guint width = 0;
  g_autoptr (GPtrArray) lefts = g_ptr_array_new_with_free_func (g_free);
  for (const CtlOption *o = opts; o->long_name; o++)
    {
      char *left;
      if (o->type == CTL_OPT_BOOL)
        left = o->short_name ? g_strdup_printf ("-%c --%s", o->short_name, o->long_name)
                             : g_strdup_printf ("   --%s", o->long_name);
      else
        left = o->short_name ? g_strdup_printf ("-%c --%s=%s", o->short_name, o->long_name, o->arg_name)
                             : g_strdup_printf ("   --%s=%s", o->long_name, o->arg_name);
      width = MAX (width, strlen (left));
      g_ptr_array_add (lefts, left);
    }
  guint term = help_width ();
  for (guint i = 0; i < lefts->len; i++)
    {
      printf ("  %-*s  ", (int) width, (char *) lefts->pdata[i]);
      print_wrapped (_(opts[i].help), width + 4, width + 4, term);
    }
}

static void
print_main_help (void)
{
  printf (_("Usage: caractrl [OPTIONS...] COMMAND ...\n\n"));
  printf (_("Manage a Caravanserai cluster: its nodes and the projects running on them.\n"));
  printf ("\n%s\n", _("Commands:"));
  /* Names only (as kubectl lists them): with the usage the lines ran past 80 columns; each
   * command's page shows its usage. */
  guint width = 0;
  for (const CtlVerb *v = ctl_verbs; v->name; v++)
    if (!v->hidden)
      width = MAX (width, strlen (v->name));
  guint term = help_width ();
  for (const CtlVerb *v = ctl_verbs; v->name; v++)
    {
      if (v->hidden)
        continue;
      printf ("  %-*s  ", (int) width, v->name);
      print_wrapped (_(v->summary), width + 4, width + 4, term);
    }
  printf ("\n%s\n", _("Options:"));
  print_options (ctl_global_options);
  printf ("\n");
  print_wrapped (_("Exit status: 0 success, 1 failure (including not found), 2 bad usage or invalid manifest, "
                   "4 not authorized, 7 server unreachable."), 0, 0, term);
  printf (_("See 'caractrl COMMAND --help' and caractrl(1) for more.\n"));
}

void
ctl_print_verb_help (const CtlVerb *v)
{
  printf (_("Usage: caractrl %s %s [OPTIONS...]\n\n"), v->name, v->usage);
  guint term = help_width ();
  g_autofree char *summary = g_strdup_printf ("%s.", _(v->summary));
  print_wrapped (summary, 0, 0, term);
  if (v->description)
    print_wrapped (_(v->description), 0, 0, term);
  if (v->options && v->options->long_name)
    {
      printf ("\n%s\n", _("Options:"));
      print_options (v->options);
    }
  printf ("\n%s\n", _("Global options:"));
  print_options (ctl_global_options);
}

static int
verb_help (Ctl *ctl, CtlArgs *args, GError **error)
{
  if (args->positional->len == 0)
    {
      print_main_help ();
      return 0;
    }
  const CtlVerb *v = ctl_find_verb (args->positional->pdata[0]);
  if (v == NULL)
    {
      g_set_error (error, CTL_USAGE_ERROR, 0, _("unknown command '%s'"), (char *) args->positional->pdata[0]);
      return -1;
    }
  ctl_print_verb_help (v);
  return 0;
}

static int
report_error (const GError *error)
{
  /* A message of several lines (every problem of a manifest) gets the prefix on each. */
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    fprintf (stderr, "caractrl: %s\n", lines[i]);
  if (error->domain == CTL_USAGE_ERROR)
    {
      fprintf (stderr, _("Try 'caractrl --help' for more information.\n"));
      return 2;
    }
  if (error->domain == CARA_ERROR)
    return cara_error_to_exit_code (error);
  return 1;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  const char *localedir = g_getenv ("CARA_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("caractrl");

  /* Shell completion gets the raw words, including partial ones the parser would reject. */
  if (argc >= 2 && g_str_equal (argv[1], "__complete"))
    return ctl_complete_main (argc - 2, argv + 2);

  g_autoptr (GError) error = NULL;
  g_autoptr (CtlArgs) args = NULL;
  const CtlVerb *verb = NULL;
  if (!ctl_parse_args (argc, argv, 1, &verb, &args, &error))
    return report_error (error);

  if (ctl_opt_bool (args, "version") && verb == NULL)
    {
      printf ("caractrl %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (ctl_opt_bool (args, "help"))
    {
      if (verb && verb->handler != verb_help)
        ctl_print_verb_help (verb);
      else
        print_main_help ();
      return 0;
    }
  if (verb == NULL)
    {
      g_set_error (&error, CTL_USAGE_ERROR, 0, _("missing command"));
      return report_error (error);
    }

  Ctl ctl = { 0 };
  ctl.command_line = ctl_command_line (argc, argv);
  int rc;
  if (!ctl_setup (&ctl, args, &error))
    rc = report_error (error);
  else
    {
      rc = verb->handler (&ctl, args, &error);
      ctl_pager_close (&ctl);
      if (rc < 0)
        rc = report_error (error);
    }
  g_clear_pointer (&ctl.client, cara_http_client_free);
  g_free (ctl.server);
  g_free (ctl.token);
  g_free (ctl.ca_file);
  g_free (ctl.command_line);
  return rc;
}
