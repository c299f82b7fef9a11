/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Whether a project the watch brings differs from the one the agent holds only in what the agent
 * itself reported (the server echoing a status PATCH back): then there is nothing to reconcile,
 * and Docker is not asked again. */

#include "cara-model.h"

/* TRUE when @now equals @before but for its resourceVersion, updatedAt, status.services,
 * status.conditions, status.observedGeneration and a status.phase that is @before's or @reported
 * (the phase the agent reported last). */
gboolean status_echo (const CaraProject *before, const CaraProject *now, CaraProjectPhase reported);
