/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The inside of the Compose converter (ctl_compose_convert ()), one job per file:
 *   compose-typed.c        typed reading of values, with errors at the key's path
 *   compose-keys.c         every key of a mapping checked against its rules
 *   compose-service.c      one service (image, command, labels, ...), calling:
 *   compose-environment.c  environment and env_file
 *   compose-ports.c        ports
 *   compose-volumes.c      top-level volumes and a service's volumes
 *   compose-healthcheck.c  healthcheck
 *   compose-resources.c    deploy and the resource limits
 *   compose-depends.c      depends_on
 *   compose-convert.c      the top level and the whole document
 * Each mapper reads Compose keys of one service (or the top level), reports problems through
 * c->diag at their paths, and sets the manifest's members on @out. */

#include "compose.h"

typedef struct {
  CtlComposeDiag *diag;
  GHashTable *env;
  const char *dir;
  const char *project;
  JsonObject *top;
  JsonObject *services;     /* the Compose services: mapping */
  GHashTable *enabled;      /* service names enabled by the profiles */
  GHashTable *healthy;      /* service names that have a healthcheck */
  JsonObject *declared;     /* top-level volumes: (may be NULL) */
  JsonArray *volumes;       /* project volumes, in order of first use */
  GHashTable *volume_names; /* name -> "" */
} Conv;

/* ---- compose-typed.c ---- */

/* "a.b" + "c" -> "a.b.c"; "" + "c" -> "c" */
char *conv_join (const char *path, const char *key);
gboolean conv_is_string (JsonNode *v);
/* Scalars as text, as Compose casts them.  NULL for null, lists and mappings. */
char *conv_scalar_text (JsonNode *v);
/* Each reports "must be ..." at @path when @v is not what is wanted. */
gboolean conv_want_string (Conv *c, JsonNode *v, const char *path, char **ret);
gboolean conv_want_int (Conv *c, JsonNode *v, const char *path, gint64 *ret);
gboolean conv_want_bool (Conv *c, JsonNode *v, const char *path, gboolean *ret);
JsonObject *conv_want_mapping (Conv *c, JsonNode *v, const char *path);
JsonArray *conv_want_list (Conv *c, JsonNode *v, const char *path);
/* Member @key of @o as a string: TRUE with NULL when absent, FALSE (reported) when not a string. */
gboolean conv_member_string (Conv *c, JsonObject *o, const char *path, const char *key, char **ret);
/* Member @key of @from, when given, as the string member @out_key of @out. */
void conv_map_string (Conv *c, JsonObject *from, const char *path, const char *key, JsonObject *out,
                      const char *out_key);
JsonNode *conv_string_array_node (char **strv);
/* A list of "KEY=VALUE" (or bare "KEY") or a mapping (KEY: null is a bare KEY): @fn for each in
 * order, @value NULL for a bare key, @path the item's.  Reports anything else at @path. */
typedef void (*ConvPairFunc) (Conv *c, const char *key, const char *value, const char *path, gpointer data);
void conv_each_pair (Conv *c, JsonNode *n, const char *path, ConvPairFunc fn, gpointer data);
/* A Compose duration as whole seconds (rounded up with a warning) into @out_key of @out. */
void conv_add_seconds (Conv *c, JsonObject *from, const char *key, const char *path, JsonObject *out,
                       const char *out_key);

/* ---- compose-keys.c ---- */

typedef enum { KEY_MAPPED, KEY_IGNORED, KEY_UNSUPPORTED } KeyAction;

typedef struct {
  const char *key;
  KeyAction action;
  const char *why; /* for KEY_IGNORED/KEY_UNSUPPORTED: N_() */
} KeyRule;

#define IGN(why) KEY_IGNORED, why
#define UNSUP(why) KEY_UNSUPPORTED, why

extern const char conv_ignored_why[]; /* "ignored: it changes nothing here", N_() */

/* Checks every key of @o against @rules (ended by { NULL }): unknown keys and unsupported ones
 * are errors, ignored ones and x-* warnings.  Returns FALSE when any was an error. */
gboolean conv_check_keys (Conv *c, JsonObject *o, const KeyRule *rules, const char *path);

/* ---- the mappers ---- */

/* The top-level volumes: (sets c->declared); FALSE when it has errors. */
gboolean conv_check_top_volumes (Conv *c);
void conv_map_volumes (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out);
void conv_map_environment (Conv *c, JsonObject *svc, const char *path, JsonObject *out);
void conv_map_ports (Conv *c, JsonNode *n, const char *path, JsonObject *out);
/* TRUE when the service ends up with a healthcheck. */
gboolean conv_map_healthcheck (Conv *c, JsonNode *n, const char *path, JsonObject *out);
void conv_map_resources (Conv *c, JsonObject *svc, const char *path, JsonObject *out);
void conv_map_depends_on (Conv *c, const char *service, JsonNode *n, const char *path, JsonObject *out);
/* A service another waits for with service_completed_successfully runs once (see the file). */
void conv_run_completed_once (JsonArray *services);
JsonObject *conv_map_service (Conv *c, const char *name, JsonObject *svc, const char *path);
