/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "agent.h"

/* Parses the command line and builds the configuration: built-in defaults < agent.conf [agent]
 * < environment < options.  Exits on --help/--version. */
AgentConfig *agent_config_load (int *argc, char ***argv, GError **error);
