/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one parser of resource quantities and durations. */

#include <glib.h>

/* CPU quantities: "500m", "2", "0.5", "1.25" -> millicores (exact; finer than 1m is an error). */
gboolean cara_cpu_parse (const char *s, gint64 *ret_millicores, GError **error);
char *cara_cpu_format (gint64 millicores); /* "500m", "2" */

/* Memory/disk quantities: "256Mi", "1G", "1.5Gi", "1024", "500k" -> bytes (exact integers). */
gboolean cara_bytes_parse (const char *s, gint64 *ret_bytes, GError **error);
char *cara_bytes_format (gint64 bytes); /* largest exact binary suffix: "256Mi", "2Gi", "1000" */

/* Durations as Go: "500ms", "2s", "3m", "1h30m", "1.5s" -> microseconds. */
gboolean cara_duration_parse (const char *s, gint64 *ret_usec, GError **error);
char *cara_duration_format (gint64 usec); /* "1m30s", "500ms" */
