/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

/* One error domain for the whole project.  Each code maps to one HTTP status, one CLI exit code
 * and one D-Bus error name, so an error keeps its meaning as it crosses a boundary. */
#define CARA_ERROR (cara_error_quark ())

typedef enum {
  CARA_ERROR_FAILED,             /* 500, exit 1 */
  CARA_ERROR_INVALID,            /* 400 Validation Problem, exit 2 */
  CARA_ERROR_NOT_FOUND,          /* 404, exit 1 */
  CARA_ERROR_CONFLICT,           /* 409, exit 1 */
  CARA_ERROR_UNAUTHORIZED,       /* 401, exit 4 */
  CARA_ERROR_FORBIDDEN,          /* 403, exit 4 */
  CARA_ERROR_TOO_LARGE,          /* 413, exit 1 */
  CARA_ERROR_METHOD_NOT_ALLOWED, /* 405, exit 1 */
  CARA_ERROR_UNAVAILABLE,        /* 503, exit 1 */
  CARA_ERROR_BAD_GATEWAY,        /* 502, exit 1 */
  CARA_ERROR_UNREACHABLE,        /* the peer could not be reached at all: exit 7 */
  CARA_ERROR_ACCEPTED,           /* not an error on the wire; placeholder to keep codes stable */
} CaraError;

GQuark cara_error_quark (void);

guint cara_error_to_http_status (const GError *error);
/* Title used in problem+json bodies ("Validation Problem", "Not Found", ...). */
const char *cara_http_status_title (guint status);
CaraError cara_error_code_from_http_status (guint status);
int cara_error_to_exit_code (const GError *error);
const char *cara_error_to_dbus_name (const GError *error);

/* Prefix an error message with a field path: "spec.services[1].image: image is required". */
void cara_error_prefix_field (GError **error, const char *path);
