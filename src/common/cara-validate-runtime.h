/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Validation of the fields that shape how a service's container runs (SPEC §10's new fields:
 * entrypoint, workingDir, user, labels, capAdd/capDrop, stopSignal, stopGracePeriodSeconds,
 * ports[].hostIP, dependsOn conditions, healthcheck.startPeriodSeconds) and of HostPath volumes.
 * Called from cara-validate.c; errors are CARA_ERROR_INVALID starting with the field path. */

#include "cara-model.h"

/* @base: "spec.services[N]".  Dependency names are checked by the caller first. */
gboolean cara_validate_service_runtime (const CaraService *s, const char *base, const CaraProject *p,
                                        GError **error);
/* @base: "spec.volumes[N]". */
gboolean cara_validate_volume_runtime (const CaraVolume *v, const char *base, GError **error);
