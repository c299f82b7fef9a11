/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* JSON codec of the resource model (json-glib).  Decoding: wrong JSON types, unknown enum values
 * and missing required fields are CARA_ERROR_INVALID errors whose message starts with the field
 * path ("spec.services[1].image: ..."); unknown fields are ignored.  Encoding follows the Go
 * version's field order and omitempty rules (reference §1), so what is read is written back
 * unchanged. */

#include <json-glib/json-glib.h>

#include "cara-model.h"

/* Generic helpers */
JsonNode *cara_json_parse (const char *data, gssize len, GError **error); /* INVALID on bad JSON */
/* Deepest nesting of arrays/objects any JSON read by the three programs may have; deeper input is
 * refused (INVALID) before a tree is built.  cara_json_parse checks it; direct json-glib callers
 * call cara_json_check_depth first. */
#define CARA_JSON_MAX_DEPTH 64
gboolean cara_json_check_depth (const char *data, gssize len, GError **error);
char *cara_json_to_string (JsonNode *node, gboolean pretty);

/* Times: RFC 3339, UTC, fractional seconds trimmed as Go's RFC3339Nano; NULL -> zero time. */
/* @o's member @member when it is a string (or an object), else NULL; @o may be NULL. */
const char *cara_json_object_string (JsonObject *o, const char *member);
JsonObject *cara_json_object_object (JsonObject *o, const char *member);
char *cara_time_format (GDateTime *t);
gboolean cara_time_parse (const char *s, GDateTime **ret, GError **error); /* zero time -> NULL */

/* Node */
CaraNode *cara_node_from_json (JsonNode *node, GError **error);
CaraNode *cara_node_from_data (const char *data, gssize len, GError **error);
JsonNode *cara_node_to_json (const CaraNode *n);
char *cara_node_to_data (const CaraNode *n);
JsonNode *cara_node_list_to_json (GPtrArray *nodes); /* {"apiVersion","kind":"NodeList","items":[...]} */
GPtrArray *cara_node_list_from_json (JsonNode *node, GError **error);

/* Project */
CaraProject *cara_project_from_json (JsonNode *node, GError **error);
CaraProject *cara_project_from_data (const char *data, gssize len, GError **error);
JsonNode *cara_project_to_json (const CaraProject *p);
char *cara_project_to_data (const CaraProject *p);
JsonNode *cara_project_list_to_json (GPtrArray *projects); /* kind ProjectList */
/* The same list as text from the items' compact JSON texts (char*, each one object as
 * cara_project_to_data() writes it), spliced into the envelope json-glib writes: for long lists,
 * where decoding and encoding every item would dominate. */
char *cara_project_list_text (GPtrArray *item_texts);
/* The text of a list of @kind before and after its items (which go between, comma-separated), with
 * metadata.continue when @continue_token is not NULL. */
void cara_list_envelope (const char *kind, const char *continue_token, char **ret_prefix, char **ret_suffix);
GPtrArray *cara_project_list_from_json (JsonNode *node, GError **error);

/* Parts, for storing spec and status as separate JSONB columns. */
JsonNode *cara_project_spec_to_json (const CaraProject *p);
gboolean cara_project_spec_from_json (CaraProject *p, JsonNode *spec, GError **error);
JsonNode *cara_project_status_to_json (const CaraProject *p);
gboolean cara_project_status_from_json (CaraProject *p, JsonNode *status, GError **error);
JsonNode *cara_node_spec_to_json (const CaraNode *n);
gboolean cara_node_spec_from_json (CaraNode *n, JsonNode *spec, GError **error);
JsonNode *cara_node_status_to_json (const CaraNode *n);
gboolean cara_node_status_from_json (CaraNode *n, JsonNode *status, GError **error);
JsonNode *cara_string_map_to_json (GHashTable *map); /* keys sorted */
gboolean cara_string_map_from_json (JsonNode *node, const char *path, GHashTable **ret, GError **error);

/* Request bodies */
CaraHeartbeat *cara_heartbeat_from_json (JsonNode *node, GError **error);
JsonNode *cara_heartbeat_to_json (const CaraHeartbeat *h);
CaraStatusReport *cara_status_report_from_json (JsonNode *node, GError **error); /* phase required */
JsonNode *cara_status_report_to_json (const CaraStatusReport *r);

/* metadata{} of any kind (cara-secret.c): decoded from @root's "metadata" member, and encoded. */
gboolean cara_json_meta_from_object (JsonObject *root, CaraObjectMeta *m, GError **error);
JsonNode *cara_json_meta_to_json (const CaraObjectMeta *m);

/* Reads the "kind" of a resource document without decoding the rest ("" if missing). */
const char *cara_json_get_kind (JsonNode *node);
