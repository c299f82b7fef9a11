/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Compose files (SPEC §10): a YAML document with a top-level services: mapping and no kind:
 * becomes a Project manifest.  The pieces, one job per file:
 *   compose-diag.c    warnings and errors as "FILE:LINE: key.path: message" (libyaml marks)
 *   compose-dotenv.c  .env and env_file files (K=V lines, # comments, quotes)
 *   compose-interp.c  ${VAR} interpolation exactly as Compose does it
 *   compose-values.c  ports, durations, memory and cpu values, volume strings
 *   compose-convert.c the mapping of every key, with the files compose-conv.h lists
 *   compose-load.c    options, project name, .env, and the hook used by apply and convert
 * Nothing here talks to the server. */

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cara-manifest.h"

/* Members of a JSON object in document order (json-glib 1.6's JsonObjectIter has none).  The
 * loop must run to its end (it frees the key list then). */
typedef struct {
  JsonObject *o;
  GList *keys, *l;
} CtlKeyIter;

static inline void
ctl_key_iter_init (CtlKeyIter *it, JsonObject *o)
{
  it->o = o;
  it->keys = it->l = json_object_get_members (o);
}

static inline gboolean
ctl_key_iter_next (CtlKeyIter *it, const char **ret_key, JsonNode **ret_value)
{
  if (it->l == NULL)
    {
      g_list_free (it->keys);
      it->keys = NULL;
      return FALSE;
    }
  *ret_key = it->l->data;
  *ret_value = json_object_get_member (it->o, *ret_key);
  it->l = it->l->next;
  return TRUE;
}

/* ---- diagnostics ---- */

typedef struct {
  const CaraManifestDoc *doc; /* for file and lines */
  GPtrArray *errors;          /* char*: "FILE:LINE: path: message" */
  GPtrArray *warnings;        /* char* */
} CtlComposeDiag;

CtlComposeDiag *ctl_compose_diag_new (const CaraManifestDoc *doc);
void ctl_compose_diag_free (CtlComposeDiag *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlComposeDiag, ctl_compose_diag_free)
/* @path is the key path in the Compose file ("services.web.ports[1]"); "" for the document. */
void ctl_compose_error (CtlComposeDiag *d, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
void ctl_compose_warn (CtlComposeDiag *d, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
guint ctl_compose_diag_line (const CtlComposeDiag *d, const char *path);

/* ---- .env files ---- */

/* Parses K=V lines ("export K=V", # comments, 'single' (literal), "double" (escapes \n \t \" \\,
 * and ${VAR} from @lookup then earlier lines), unquoted (trailing " #comment" removed) values).
 * Returns (K -> V) in a new table, or NULL with @error naming "FILE:LINE". */
GHashTable *ctl_compose_dotenv_parse (const char *file, const char *data, GHashTable *lookup,
                                      GPtrArray **ret_order, GError **error);
GHashTable *ctl_compose_dotenv_read (const char *file, GHashTable *lookup, GPtrArray **ret_order,
                                     GError **error);

/* ---- interpolation ---- */

/* One string; @env maps names to values (absent = unset).  Unset variables without a default
 * become "" and are added to @ret_unset (may be NULL).  FALSE with a message in *ret_error for
 * ${VAR:?msg}, ${VAR?msg} and bad syntax. */
gboolean ctl_compose_interpolate (const char *in, GHashTable *env, char **ret_out, GPtrArray *ret_unset,
                                  char **ret_error);
/* Every string value of @node in place (keys are not interpolated), diagnostics at their paths. */
void ctl_compose_interpolate_tree (JsonNode *node, const char *path, GHashTable *env, CtlComposeDiag *diag);

/* ---- values ---- */

typedef struct {
  gint64 container_port;
  gint64 host_port; /* 0: none */
  char *protocol;   /* "tcp" | "udp" */
  char *host_ip;    /* NULL: none */
} CtlComposePort;

void ctl_compose_port_free (CtlComposePort *p);
/* "80", "8080:80", "127.0.0.1:8080:80", "[::1]:8080:80", "8080:80/udp", "9000-9002:9000-9002";
 * appends CtlComposePort* to @out.  FALSE with a message. */
gboolean ctl_compose_parse_port (const char *s, GPtrArray *out, char **ret_error);
/* Compose durations ("1m30s", "500ms") to whole seconds rounded up; *ret_rounded when it was not
 * a whole number of seconds. */
gboolean ctl_compose_parse_seconds (const char *s, gint64 *ret_seconds, gboolean *ret_rounded, char **ret_error);
/* "512m", "512M", "1gb", "1024k", "100b", 1048576 -> "512Mi", "1Gi", "1Mi", "100" */
char *ctl_compose_memory (JsonNode *v, char **ret_error);
/* "0.5", 0.5, 2 -> "500m", "2" */
char *ctl_compose_cpus (JsonNode *v, char **ret_error);
/* A string or a list of strings, split as a shell would for a string. */
char **ctl_compose_argv (JsonNode *v, char **ret_error);
/* Project names: lower case, every character other than [a-z0-9-] becomes '-', no '-' at the ends,
 * at most 63 characters. */
char *ctl_compose_normalize_name (const char *s);

/* ---- conversion ---- */

typedef struct {
  const char *project_name;          /* -p/--project-name, or NULL */
  const char *env_file;              /* --env-file, or NULL for .env beside the file */
  const char *const *profiles;       /* --profile, NULL-terminated, or NULL */
  char **environ;                    /* caractrl's environment; NULL: g_get_environ () */
  gboolean strict;                   /* warnings are errors */
} CtlComposeOptions;

/* A document that is a Compose file: a mapping with services: and no kind:. */
gboolean ctl_compose_is_compose (JsonNode *doc);

/* The Project manifest of @doc, or NULL when there were errors (in @diag).  @env is the
 * interpolation environment; @dir the directory of the Compose file (for env_file). */
JsonNode *ctl_compose_convert (CaraManifestDoc *doc, const CtlComposeOptions *opts, GHashTable *env,
                               const char *dir, CtlComposeDiag *diag);

/* Everything: the environment (.env / --env-file), the project name, interpolation and
 * conversion.  Warnings and errors are left in @diag (with --strict warnings count as errors). */
JsonNode *ctl_compose_load (CaraManifestDoc *doc, const CtlComposeOptions *opts, CtlComposeDiag *diag);

/* ---- secrets (compose-secrets.c) ---- */

/* The Secret a Compose secret NAME of @project becomes: "{project}-{NAME}", normalised. */
char *ctl_compose_secret_name (const char *project, const char *name);
/* A service's secrets: list into @out's secrets[] (mounted at /run/secrets/NAME or the target). */
void ctl_compose_service_secrets (JsonObject *top, const char *project, JsonObject *svc, const char *path,
                                  JsonObject *out, CtlComposeDiag *diag);
/* The top-level secrets: the services of @spec use become Secret documents (values from their
 * file: beside the Compose file in @dir, or environment: from @env), carried in @spec until
 * ctl_compose_split_secrets takes them out. */
void ctl_compose_top_secrets (JsonObject *top, const char *project, GHashTable *env, const char *dir, JsonObject *spec,
                              CtlComposeDiag *diag);
/* Removes the Secret documents from the Project manifest @d and returns them as documents
 * (CaraManifestDoc*, owned by the caller) of the same file. */
GPtrArray *ctl_compose_split_secrets (CaraManifestDoc *d);

/* For apply and convert: replaces each Compose document of @docs by its Project manifest;
 * prints warnings and errors on stderr; FALSE (CARA_ERROR_INVALID) when any document had errors. */
gboolean ctl_compose_expand_docs (GPtrArray *docs, const CtlComposeOptions *opts, GError **error);
