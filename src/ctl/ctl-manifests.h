/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What apply and diff share: the manifests read and checked as a whole, their canonical form for
 * comparing with the live objects, and the record of what `apply` last applied. */

#include "cara-manifest.h"
#include "ctl.h"

/* The annotation in which `caractrl apply` records the manifest it applied (SPEC §2). */
#define CTL_LAST_APPLIED "caravanserai/last-applied"

typedef struct {
  CaraManifestDoc *doc; /* borrowed from the docs array */
  const char *kind;     /* "nodes" | "projects" */
  const char *name;
  JsonNode *normal;     /* ctl_comparable() of the document */
} CtlItem;

void ctl_item_free (CtlItem *it);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlItem, ctl_item_free)

/* Every document of every file of @files (char*), each Compose document converted first (with the
 * Compose options of @compose_args), each checked; all problems are reported (the earlier ones on
 * stderr, the last in @error) and nothing is returned unless all are valid.  *ret_docs owns the
 * documents that the items borrow. */
gboolean ctl_manifests_read_with_compose (GPtrArray *files, CtlArgs *compose_args, GPtrArray **ret_docs,
                                          GPtrArray **ret_items, GError **error);

/* {"metadata": {"name", "labels", "annotations"}, "spec"} of a resource in the codec's canonical
 * form (defaults spelt out), without CTL_LAST_APPLIED, so equal means "nothing to apply". */
JsonNode *ctl_comparable (const char *kind, JsonNode *resource, GError **error);

/* The text recorded in CTL_LAST_APPLIED for document @doc: compact JSON of its comparable form. */
char *ctl_last_applied_text (const char *kind, JsonNode *doc, GError **error);
/* The comparable form recorded in a live object's CTL_LAST_APPLIED, or NULL when it has none. */
JsonNode *ctl_last_applied (JsonNode *live);

/* One line per field where @a and @b differ, "spec.services[0].image: "x" -> "y"", appended to
 * @out (a: before, b: after). */
void ctl_json_changes (JsonNode *a, JsonNode *b, const char *path, GPtrArray *out);
