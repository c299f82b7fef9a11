/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The parts of a container-create body that say how a service's process runs (SPEC §10):
 * Entrypoint, WorkingDir, User, StopSignal, StopTimeout; HostConfig CapAdd and CapDrop; the
 * user's labels.  Each member is written only when the spec sets it, so the spec hash of a
 * service that uses none of them is what it was before they existed. */

#include <json-glib/json-glib.h>

#include "cara-model.h"

/* Members of the top-level (Config) object. */
void reconcile_spec_add_runtime (JsonBuilder *b, const CaraService *svc);
/* Members of HostConfig. */
void reconcile_spec_add_host_runtime (JsonBuilder *b, const CaraService *svc);
/* The members of @labels in key order (so the hash does not depend on the table's order). */
void reconcile_spec_add_labels (JsonBuilder *b, GHashTable *labels);
