/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What Docker should run for a service: the container-create body and the spec hash that goes into
 * its cara.spec-hash label, so a changed service is detected from Docker's labels alone. */

#include <json-glib/json-glib.h>

#include "cara-model.h"

/* @volume_names: spec volume name -> Docker volume name.  The body carries every label, including
 * cara.spec-hash (also returned in *ret_hash). */
JsonNode *reconcile_container_body (const CaraProject *p, const CaraService *svc, const char *node,
                                    const char *network, GHashTable *volume_names, char **ret_hash,
                                    GError **error);

/* Services in start order: every service after those it dependsOn (spec order otherwise).
 * Borrowed pointers. */
GPtrArray *reconcile_service_order (const CaraProject *p);

/* Docker's restart-policy name for ours ("always", "on-failure", "no"). */
const char *reconcile_restart_policy_name (CaraRestartPolicy policy);
