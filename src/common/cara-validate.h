/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Validation of resources (reference §3 plus SPEC §2).  Errors are CARA_ERROR_INVALID and the
 * message starts with the field path ("spec.services[1].image: image is required"). */

#include "cara-model.h"

/* Node names: DNS-style, ^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$ */
/* Sets a CARA_ERROR_INVALID error "@path: message" and returns FALSE: how every rule fails. */
gboolean cara_validate_fail (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

gboolean cara_validate_node_name (const char *name, GError **error);
/* Project and service names: [a-z0-9-], start/end alnum, at most 63 (DNS label, Docker name part). */
gboolean cara_validate_project_name (const char *name, GError **error);
gboolean cara_validate_service_name (const char *name, const char *path, GError **error);
gboolean cara_validate_label_map (GHashTable *labels, const char *path, GError **error);
/* Docker's image reference grammar (distribution/reference): [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST],
 * path components lowercase, tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, digest ALGORITHM:HEX with at
 * least 32 hex digits, the name at most 255 characters. */
gboolean cara_validate_image_reference (const char *ref, const char *path, GError **error);

gboolean cara_validate_node (const CaraNode *n, GError **error);
/* Whole project: name, spec, and the status a client may submit. */
gboolean cara_validate_project (const CaraProject *p, GError **error);
/* Every problem cara_validate_project() would find one at a time, appended to @problems (GError*):
 * each check runs on its own where the ones before it leave it meaningful. */
void cara_validate_project_all (const CaraProject *p, GPtrArray *problems);
gboolean cara_validate_project_spec (const CaraProject *p, GError **error);

/* References to Secrets (SPEC §12, cara-validate-secrets.c): a service's env[].valueFrom and
 * secrets[] (@base: "spec.services[N]"), and spec.imagePullSecrets[]. */
gboolean cara_validate_service_secrets (const CaraService *s, const char *base, GError **error);
gboolean cara_validate_image_pull_secrets (const CaraProject *p, GError **error);
