/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Unknown fields of Project and Node documents (SPEC §2): the members each level may have, a
 * check that lists every member that is none of them (with a "did you mean" suggestion by edit
 * distance, and hints for Compose habits such as "restart: always"), and recognising a Compose
 * file.  The JSON decoder (cara-json.c) ignores unknown members; a field added to the decoder is
 * added to the table in cara-fields.c too. */

#include <json-glib/json-glib.h>

typedef enum {
  /* every level: manifests read by caractrl */
  CARA_FIELDS_ALL,
  /* the top level and everything under "spec"; metadata and status are left to the decoder
   * (server-managed members and reports from agents of another version): API bodies */
  CARA_FIELDS_SPEC,
} CaraFieldsScope;

/* At most this many problems are listed; one more says how many were left out. */
#define CARA_FIELDS_MAX_PROBLEMS 50

/* The unknown members of a Project or Node document (@kind "Project" or "Node", or NULL for the
 * document's own "kind"; other kinds: none), in
 * document order, as CARA_ERROR_INVALID GErrors whose messages start with the field path:
 * 'spec.services[0].enviroment: unknown field "enviroment" (did you mean "env"?)'.
 * Wrong types are not reported here (the decoder does).  Never NULL. */
GPtrArray *cara_fields_check (JsonNode *doc, const char *kind, CaraFieldsScope scope);

/* The suggestion for @key among @valid (NULL-terminated): the closest by edit distance (case,
 * '-' and '_' ignored) or a known Compose spelling, or NULL when none is close. */
const char *cara_fields_suggest (const char *key, const char *const *valid);

/* TRUE for a Compose file: a mapping with a top-level "services" mapping and no "kind". */
gboolean cara_fields_looks_like_compose (JsonNode *doc);
