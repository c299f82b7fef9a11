/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* caractrl internals: the verb table, the parsed command line and the context every verb gets. */

#include <glib.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "cara-http-client.h"

/* Usage errors (bad option, wrong number of arguments) print a hint and exit 2; every other
 * failure is a CARA_ERROR mapped by cara_error_to_exit_code(). */
#define CTL_USAGE_ERROR (ctl_usage_error_quark ())
GQuark ctl_usage_error_quark (void);

typedef enum {
  CTL_OPT_BOOL,
  CTL_OPT_STRING,
  CTL_OPT_STRINGS, /* repeatable */
} CtlOptType;

typedef struct {
  const char *long_name;
  char short_name;        /* 0 if none */
  CtlOptType type;
  const char *arg_name;   /* "FILE", "URL", ... */
  const char *help;       /* N_() */
  const char *const *choices; /* for completion and checking; NULL = free text */
  gboolean files;         /* complete file names for the value */
} CtlOption;

typedef enum {
  CTL_OUTPUT_TABLE,
  CTL_OUTPUT_WIDE,
  CTL_OUTPUT_JSON,
  CTL_OUTPUT_YAML,
  CTL_OUTPUT_NAME,
} CtlOutput;

/* What positional arguments are, for completion. */
typedef enum {
  CTL_ARGS_NONE,
  CTL_ARGS_KIND_NAMES,    /* KIND NAME...: any kind of kinds[] then names of that kind */
  CTL_ARGS_PROJECT,       /* PROJECT[/SERVICE] */
} CtlArgsKind;

typedef struct _Ctl Ctl;
typedef struct _CtlArgs CtlArgs;

/* Returns the exit code; on failure sets @error and returns -1 (main prints it and maps it). */
typedef int (*CtlVerbFunc) (Ctl *ctl, CtlArgs *args, GError **error);

typedef struct {
  const char *name;
  const char *const *aliases;
  guint min_args;
  guint max_args;           /* G_MAXUINT = unlimited */
  CtlVerbFunc handler;
  const CtlOption *options; /* terminated by { NULL } */
  const char *usage;        /* "nodes|projects [NAME...]" (not translated: grammar) */
  const char *summary;      /* N_() one line */
  const char *description;  /* N_() paragraph, may be NULL */
  CtlArgsKind args_kind;
  const char *const *kinds; /* for CTL_ARGS_KIND_NAMES */
  gboolean hidden;
  const char *const *subcommands; /* a first positional word of these (rollout status ...); NULL: none */
} CtlVerb;

struct _CtlArgs {
  const CtlVerb *verb;
  GPtrArray *positional; /* char* */
  GHashTable *values;    /* long name -> char* ("true" for bools) */
  GHashTable *lists;     /* long name -> GPtrArray of char*, for repeatable (STRINGS) options */
};

struct _Ctl {
  char *server;
  char *token;
  char *ca_file;
  CtlOutput output;
  gboolean no_legend;
  gboolean no_pager;
  gboolean quiet;
  gboolean color;
  gboolean stdout_tty;
  CaraHttpClient *client; /* created lazily by ctl_client() */
  int pager_pid;
  char *command_line; /* as ctl_command_line() gives it */
};

/* main.c */
extern const CtlVerb ctl_verbs[];
extern const CtlOption ctl_global_options[];
const CtlVerb *ctl_find_verb (const char *name);
gboolean ctl_parse_args (int argc, char **argv, guint start, const CtlVerb **ret_verb, CtlArgs **ret_args,
                         GError **error);
void ctl_args_free (CtlArgs *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlArgs, ctl_args_free)
gboolean ctl_opt_bool (CtlArgs *a, const char *name);
const char *ctl_opt_string (CtlArgs *a, const char *name);
GPtrArray *ctl_opt_strings (CtlArgs *a, const char *name); /* a new reference; NULL when not given */
void ctl_print_verb_help (const CtlVerb *v);

/* ctl-cmdline.c: "caractrl apply -f web.yaml", quoted as a shell would need, --token's value hidden. */
char *ctl_command_line (int argc, char **argv);

/* ctl-client.c: server URL and token resolution, requests */
gboolean ctl_setup (Ctl *ctl, CtlArgs *args, GError **error);
CaraHttpClient *ctl_client (Ctl *ctl);
/* cara_http_client_json() with transport errors explained ("cannot connect to the server at ..."). */
gboolean ctl_request (Ctl *ctl, const char *method, const char *path, JsonNode *body, guint *ret_status,
                      JsonNode **ret_json, GError **error);
void ctl_explain_error (Ctl *ctl, GError **error);
/* GET @path and return the parsed body. */
JsonNode *ctl_get (Ctl *ctl, const char *path, GError **error);
/* --timeout DURATION of --wait (default 5 min). */
gboolean ctl_wait_timeout (CtlArgs *args, gint64 *ret_usec, GError **error);
/* Poll until GET says 404, or fail when the monotonic @deadline passes. */
gboolean ctl_wait_gone (Ctl *ctl, const char *kind, const char *name, gint64 deadline, GError **error);
/* Resource kinds: "node"/"nodes"/"no" -> "nodes"; "project"/"projects"/"proj" -> "projects". */
const char *ctl_kind_canonical (const char *word);
const char *ctl_kind_singular (const char *plural); /* "nodes" -> "node" */
/* Split "project/web" forms and kind words into (plural kind, names).  Used by get/describe/
 * status/delete: "projects a b", "project/a project/b", "a" with @default_kind. */
gboolean ctl_resolve_kind_names (GPtrArray *positional, const char *default_kind, char **ret_kind,
                                 GPtrArray **ret_names, GError **error);
/* The one NAME of a verb that takes one resource of @kind ("nodes", "projects"): "KIND NAME",
 * "KIND/NAME" or just "NAME"; a usage error saying @usage otherwise. */
char *ctl_one_name (CtlArgs *args, const char *kind, const char *usage, GError **error);
/* describe and status: GET each named object of @kind into *ret_found, and for nodes the projects
 * placed on it into *ret_extra (JSON null otherwise).  With several names a missing one is reported
 * on stderr and *ret_rc becomes 1; with one name, or on any other error, it fails. */
gboolean ctl_fetch_named (Ctl *ctl, const char *kind, GPtrArray *names, GPtrArray **ret_found,
                          GPtrArray **ret_extra, int *ret_rc, GError **error);

/* output.c */
typedef struct _CtlTable CtlTable;
CtlTable *ctl_table_new (const char *first_header, ...) G_GNUC_NULL_TERMINATED;
void ctl_table_add_row (CtlTable *t, const char *first, ...) G_GNUC_NULL_TERMINATED;
void ctl_table_add_rowv (CtlTable *t, char **cells);
void ctl_table_print (CtlTable *t, gboolean legend);
GPtrArray *ctl_table_lines (CtlTable *t, gboolean legend); /* formatted lines, char* */
void ctl_table_free (CtlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlTable, ctl_table_free)
/* Column widths after printing, to keep a watch stream aligned with the first table. */
GArray *ctl_table_widths (CtlTable *t);
char *ctl_table_format_row (GArray *widths, char **cells);
guint ctl_display_width (const char *s);

gboolean ctl_output_parse (const char *s, CtlOutput *ret);
/* Print @node (an object or a list object) as json or yaml. */
gboolean ctl_print_json_or_yaml (Ctl *ctl, JsonNode *node, GError **error);
char *ctl_format_age (const char *rfc3339); /* "5s", "3m", "2h", "4d", "<unknown>" */
char *ctl_format_duration (GTimeSpan span); /* "3min 2s" systemd-like */
char *ctl_format_timestamp (const char *rfc3339); /* "2026-11-25 06:20:01 UTC" or NULL */
GDateTime *ctl_parse_time (const char *rfc3339); /* NULL for missing/zero */

/* Small JSON accessors that accept missing members and wrong types. */
JsonObject *ctl_obj (JsonObject *o, const char *member);
JsonArray *ctl_arr (JsonObject *o, const char *member);
const char *ctl_str (JsonObject *o, const char *member); /* "" when missing */
gint64 ctl_int (JsonObject *o, const char *member);
gboolean ctl_bool (JsonObject *o, const char *member);
const char *ctl_meta_name (JsonObject *resource);
char *ctl_map_string (JsonObject *map); /* "k=v, k=v" sorted, or NULL when empty */

/* pager.c: colours and the pager */
void ctl_pager_open (Ctl *ctl);
void ctl_pager_close (Ctl *ctl);
const char *ctl_color (Ctl *ctl, const char *ansi); /* "" when colour is off */
#define CTL_ANSI_RED "\033[0;1;31m"
#define CTL_ANSI_GREEN "\033[0;1;32m"
#define CTL_ANSI_YELLOW "\033[0;1;33m"
#define CTL_ANSI_GREY "\033[0;38;5;245m"
#define CTL_ANSI_BOLD "\033[0;1;39m"
#define CTL_ANSI_NORMAL "\033[0m"

/* verbs */
int ctl_verb_apply (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_diff (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_get (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_describe (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_status (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_delete (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_drain (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_uncordon (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_move (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_node (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_version (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_logs (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_port_forward (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_exec (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_complete (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_convert (Ctl *ctl, CtlArgs *args, GError **error);
int ctl_verb_create (Ctl *ctl, CtlArgs *args, GError **error);
/* ctl-secrets.c: get, describe and apply of Secrets (never a value) */
int ctl_secrets_get (Ctl *ctl, CtlArgs *args, GPtrArray *names, GError **error);
int ctl_secrets_describe (Ctl *ctl, GPtrArray *names, GError **error);
JsonNode *ctl_secret_comparable (JsonNode *resource, GError **error);
/* "created", "configured" or "unchanged" (the server writes nothing for the same values). */
const char *ctl_secret_apply (Ctl *ctl, JsonNode *doc, const char *name, JsonNode **ret_obj, GError **error);
int ctl_verb_events (Ctl *ctl, CtlArgs *args, GError **error);
/* verb-events.c: the last @limit events of @kind ("project" | "node") @name, for status/describe. */
void ctl_print_recent_events (Ctl *ctl, const char *kind, const char *name, guint limit);
/* The same as a table under "Events:" (describe). */
void ctl_print_events_table (Ctl *ctl, const char *kind, const char *name, guint limit);
int ctl_verb_rollout (Ctl *ctl, CtlArgs *args, GError **error);
/* verb-convert.c: Compose documents of @docs become Project manifests (--project-name,
 * --env-file, --profile, --strict of @args); FALSE when any had errors (printed on stderr). */
gboolean ctl_compose_expand (CtlArgs *args, GPtrArray *docs, GError **error);
int ctl_complete_main (int argc, char **argv);

/* ctl-wait.c: apply --wait (until Running, every changed service replaced, ServicesReady True) */
typedef struct _CtlWait CtlWait;
CtlWait *ctl_wait_new (void);
void ctl_wait_free (CtlWait *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlWait, ctl_wait_free)
/* Before a project is applied: remember it as it is (containers, spec). */
void ctl_wait_before (CtlWait *w, Ctl *ctl, const char *name);
/* After: the stored object the server returned (which services changed). */
void ctl_wait_after (CtlWait *w, const char *name, JsonNode *obj);
/* 0 when all are ready; -1 with @error on Failed, CrashLoop or timeout. */
int ctl_wait_ready (CtlWait *w, Ctl *ctl, gint64 timeout, GError **error);
/* The project's ServicesReady condition, or NULL. */
JsonObject *ctl_project_ready_condition (JsonObject *project);

/* verb-get.c, reused by describe/status/apply */
char *ctl_project_conditions_summary (JsonObject *project);
/* {"apiVersion", "kind": "NodeList"|"ProjectList", "items"} of copies of @items (JsonNode*). */
JsonNode *ctl_make_list (const char *kind, GPtrArray *items);
/* describe and status with -o json|yaml|name: the objects as get prints them (one object, or a
 * list for several names).  Returns FALSE with @error when printing fails. */
gboolean ctl_print_objects (Ctl *ctl, const char *kind, GPtrArray *found, GError **error);
