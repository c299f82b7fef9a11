/* SPDX-License-Identifier: Apache-2.0 */
/* The web dashboard (SPEC §15): its static files, compiled in as a GResource (ui/), served under
 * /ui/ with a strict Content-Security-Policy.  The page itself calls the API with the bearer
 * token the user signed in with, so its files are public. */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"

#include <gio/gio.h>
#include <microhttpd.h>
#include <string.h>

#define UI_RESOURCE_PREFIX "/org/caravanserai/ui/"

/* No inline script or style, nothing from elsewhere: the page talks to this server only. */
#define UI_CSP                                                                                    \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "               \
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " \
  "frame-ancestors 'none'"

typedef struct {
  const char *suffix;
  const char *content_type;
} UiType;

static const UiType ui_types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
  { ".json", "application/json" },
  { ".svg", "image/svg+xml" },
};

static const char *
ui_content_type (const char *file)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ui_types); i++)
    if (g_str_has_suffix (file, ui_types[i].suffix))
      return ui_types[i].content_type;
  return NULL;
}

static void
ui_add_security_headers (CaraHttpRequest *req)
{
  cara_http_request_add_response_header (req, "Content-Security-Policy", UI_CSP);
  cara_http_request_add_response_header (req, "X-Frame-Options", "DENY");
  cara_http_request_add_response_header (req, "X-Content-Type-Options", "nosniff");
  cara_http_request_add_response_header (req, "Referrer-Policy", "no-referrer");
  cara_http_request_add_response_header (req, "Cross-Origin-Opener-Policy", "same-origin");
}

/* If-None-Match holds @etag (a list of tags, or "*"). */
static gboolean
ui_etag_matches (const char *if_none_match, const char *etag)
{
  if (if_none_match == NULL)
    return FALSE;
  g_auto (GStrv) tags = g_strsplit (if_none_match, ",", -1);
  for (guint i = 0; tags[i]; i++)
    {
      const char *t = g_strstrip (tags[i]);
      if (g_str_has_prefix (t, "W/"))
        t += 2;
      if (strcmp (t, etag) == 0 || strcmp (t, "*") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
ui_serve (CaraHttpRequest *req, const char *file)
{
  const char *content_type = ui_content_type (file);
  g_autofree char *path = g_strconcat (UI_RESOURCE_PREFIX, file, NULL);
  g_autoptr (GBytes) data = NULL;
  if (content_type != NULL && strchr (file, '/') == NULL)
    data = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (data == NULL)
    {
      cara_http_respond_text (req, 404, "text/plain; charset=utf-8", "404 page not found\n");
      return;
    }

  /* The files change only with the binary: a tag of their bytes lets the browser revalidate
   * cheaply (Cache-Control: no-cache), so a new server's page is never mixed with an old one's. */
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
  g_autofree char *etag = g_strdup_printf ("\"%.32s\"", sum);
  ui_add_security_headers (req);
  cara_http_request_add_response_header (req, "ETag", etag);
  cara_http_request_add_response_header (req, "Cache-Control", "no-cache");
  if (ui_etag_matches (cara_http_request_get_header (req, "If-None-Match"), etag))
    {
      cara_http_respond_empty (req, 304);
      return;
    }

  gsize len = 0;
  const void *bytes = g_bytes_get_data (data, &len);
  /* Resource data lives in the binary's read-only data: no copy. */
  struct MHD_Response *resp = MHD_create_response_from_buffer (len, (void *) bytes, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  cara_http_respond_mhd (req, 200, resp);
}

void
api_ui_redirect (CaraHttpRequest *req, gpointer user_data)
{
  ui_add_security_headers (req);
  cara_http_request_add_response_header (req, "Location", "/ui/");
  cara_http_respond_text (req, 308, "text/plain; charset=utf-8", "/ui/\n");
}

void
api_ui_index (CaraHttpRequest *req, gpointer user_data)
{
  ui_serve (req, "index.html");
}

void
api_ui_asset (CaraHttpRequest *req, gpointer user_data)
{
  ui_serve (req, cara_http_request_get_param (req, "file"));
}
