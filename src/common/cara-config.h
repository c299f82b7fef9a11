/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Layered configuration (SPEC §7): built-in default < /etc/caravanserai/<name>.conf (GKeyFile)
 * < environment variable < command-line option. */

#include <glib.h>

/* Loads @path; a missing file gives an empty key file (not an error), a malformed one an error
 * naming the file and line. */
GKeyFile *cara_config_load (const char *path, GError **error);

/* The effective value: @cli if non-NULL, else $@env if set and non-empty, else the key file's
 * [@group] @key, else @def.  Returns a newly allocated string or NULL. */
char *cara_config_string (GKeyFile *kf, const char *group, const char *key, const char *env,
                          const char *cli, const char *def);

/* Same, parsed as a duration ("500ms", "30s"); a bad value is an error naming where it came from. */
gboolean cara_config_duration (GKeyFile *kf, const char *group, const char *key, const char *env,
                               const char *cli, const char *def, gint64 *ret_usec, GError **error);

/* Same, as a boolean ("true/false/yes/no/1/0"). */
gboolean cara_config_boolean (GKeyFile *kf, const char *group, const char *key, const char *env,
                              const char *cli, gboolean def, gboolean *ret, GError **error);

/* The daemon's state directory: $STATE_DIRECTORY (first entry), else @cli_data_dir, else the
 * built-in /var/lib/caravanserai. */
char *cara_config_state_dir (const char *cli_data_dir);
