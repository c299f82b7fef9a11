/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cara-error.h"

G_DEFINE_QUARK (cara-error-quark, cara_error)

static const struct {
  CaraError code;
  guint http;
  int exit_code;
  const char *dbus;
} error_table[] = {
  { CARA_ERROR_FAILED, 500, 1, "org.caravanserai.Error.Failed" },
  { CARA_ERROR_INVALID, 400, 2, "org.freedesktop.DBus.Error.InvalidArgs" },
  { CARA_ERROR_NOT_FOUND, 404, 1, "org.caravanserai.Error.NotFound" },
  { CARA_ERROR_CONFLICT, 409, 1, "org.caravanserai.Error.Conflict" },
  { CARA_ERROR_UNAUTHORIZED, 401, 4, "org.freedesktop.DBus.Error.AccessDenied" },
  { CARA_ERROR_FORBIDDEN, 403, 4, "org.freedesktop.DBus.Error.AccessDenied" },
  { CARA_ERROR_TOO_LARGE, 413, 1, "org.freedesktop.DBus.Error.LimitsExceeded" },
  { CARA_ERROR_METHOD_NOT_ALLOWED, 405, 1, "org.freedesktop.DBus.Error.NotSupported" },
  { CARA_ERROR_UNAVAILABLE, 503, 1, "org.caravanserai.Error.Unavailable" },
  { CARA_ERROR_BAD_GATEWAY, 502, 1, "org.caravanserai.Error.BadGateway" },
  { CARA_ERROR_UNREACHABLE, 503, 7, "org.caravanserai.Error.Unreachable" },
  { CARA_ERROR_ACCEPTED, 202, 0, "org.caravanserai.Error.Failed" },
};

static guint
lookup (const GError *error)
{
  if (error == NULL || error->domain != CARA_ERROR)
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (error_table); i++)
    if ((int) error_table[i].code == error->code)
      return i;
  return 0;
}

guint
cara_error_to_http_status (const GError *error)
{
  return error_table[lookup (error)].http;
}

int
cara_error_to_exit_code (const GError *error)
{
  return error_table[lookup (error)].exit_code;
}

const char *
cara_error_to_dbus_name (const GError *error)
{
  return error_table[lookup (error)].dbus;
}

CaraError
cara_error_code_from_http_status (guint status)
{
  switch (status)
    {
    case 400: case 422: return CARA_ERROR_INVALID;
    case 401: return CARA_ERROR_UNAUTHORIZED;
    case 403: return CARA_ERROR_FORBIDDEN;
    case 404: return CARA_ERROR_NOT_FOUND;
    case 405: return CARA_ERROR_METHOD_NOT_ALLOWED;
    case 409: return CARA_ERROR_CONFLICT;
    case 413: return CARA_ERROR_TOO_LARGE;
    case 502: return CARA_ERROR_BAD_GATEWAY;
    case 503: return CARA_ERROR_UNAVAILABLE;
    default: return CARA_ERROR_FAILED;
    }
}

const char *
cara_http_status_title (guint status)
{
  switch (status)
    {
    case 400: return "Validation Problem";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Internal Server Error";
    }
}

void
cara_error_prefix_field (GError **error, const char *path)
{
  if (error == NULL || *error == NULL || path == NULL || *path == '\0')
    return;
  g_prefix_error (error, "%s: ", path);
}
