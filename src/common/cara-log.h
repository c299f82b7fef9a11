/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logging.  Daemons call cara_log_init() once: messages go to the journal with structured fields
 * when stderr is connected to it (systemd's StandardError=journal), and otherwise to stderr as
 * readable lines.  Messages about one project/node/service carry CARA_PROJECT=, CARA_NODE=,
 * CARA_SERVICE= so `journalctl CARA_PROJECT=web` works. */

#include <glib.h>

void cara_log_init (const char *program, gboolean debug);
gboolean cara_log_debug_enabled (void);

/* Log @message at @level with optional fields (NULL to omit). */
void cara_log_full (const char *domain, GLogLevelFlags level, const char *project, const char *node,
                    const char *service, const char *format, ...) G_GNUC_PRINTF (6, 7);

#define cara_log_project(level, project, ...) \
  cara_log_full (G_LOG_DOMAIN, level, project, NULL, NULL, __VA_ARGS__)
#define cara_log_node(level, node, ...) \
  cara_log_full (G_LOG_DOMAIN, level, NULL, node, NULL, __VA_ARGS__)
#define cara_log_service(level, project, service, ...) \
  cara_log_full (G_LOG_DOMAIN, level, project, NULL, service, __VA_ARGS__)
