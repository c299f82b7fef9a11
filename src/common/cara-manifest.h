/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Reading manifests (libyaml): YAML or JSON, every document of a multi-document file, every
 * .yaml, .yml and .json file of a directory (sorted), or "-" for stdin.  Each document becomes a
 * JsonNode, so the rest of the code sees one representation.  Errors carry file, line and
 * column: "web.yaml:12:5: spec.services[0].env[1].value: ...". */

#include <json-glib/json-glib.h>

typedef struct {
  char *file;       /* as given ("-" for stdin) */
  guint index;      /* document number in the file, from 0 */
  guint line;       /* 1-based line of the document start */
  JsonNode *node;   /* the document as JSON */
  GHashTable *lines; /* field path ("spec.services[1].image") -> GUINT_TO_POINTER(line) */
} CaraManifestDoc;

void cara_manifest_doc_free (CaraManifestDoc *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraManifestDoc, cara_manifest_doc_free)

/* Scalars: quoted stay strings; plain scalars become null/bool/int/double per YAML 1.2 core
 * schema, EXCEPT that values under env[].value are always strings (as Docker Compose does). */
GPtrArray *cara_manifest_read_data (const char *file, const char *data, gsize len, GError **error);
/* path: file, directory or "-"; returns CaraManifestDoc* in order; empty documents skipped. */
GPtrArray *cara_manifest_read_path (const char *path, GError **error);

/* Prefix @error (whose message starts with a field path) with "file:line:" of that field. */
void cara_manifest_doc_locate_error (const CaraManifestDoc *d, GError **error);

/* Every problem of a Project or Node document at once, each located ("file:line: path: ..."), in
 * line order: every unknown field (cara-fields.h), and what decoding and validation find.  TRUE
 * when there is none; else one CARA_ERROR_INVALID error with one problem per line.  Other kinds:
 * TRUE (the caller says which kinds it takes). */
gboolean cara_manifest_doc_check (const CaraManifestDoc *d, GError **error);

/* TRUE when a plain YAML scalar with this text reads back as a string (not null, a boolean or a
 * number) under the YAML 1.2 core schema; the emitter quotes the others. */
gboolean cara_yaml_plain_scalar_is_string (const char *s);

/* YAML output of a JSON node (for `caractrl -o yaml`); keys in JSON order, 2-space indent. */
char *cara_yaml_from_json (JsonNode *node, GError **error);
