/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one HTTP client (libcurl), used for the server API, the agent API and the Docker Engine API
 * (over its unix socket).  One CaraHttpClient per thread: it keeps a CURL handle so connections are
 * reused; it is not thread-safe. */

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct _CaraHttpClient CaraHttpClient;

typedef struct {
  guint status;
  char *content_type; /* may be NULL */
  GBytes *body;       /* never NULL after a successful request */
} CaraHttpResponse;

void cara_http_response_free (CaraHttpResponse *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraHttpResponse, cara_http_response_free)

/* @base_url: "http://host:port", "https://...", "unix:///var/run/docker.sock" (requests then go to
 * http://localhost over the socket), or "tcp://host:port" (as http). */
CaraHttpClient *cara_http_client_new (const char *base_url);
void cara_http_client_free (CaraHttpClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CaraHttpClient, cara_http_client_free)

const char *cara_http_client_get_base_url (CaraHttpClient *c);
void cara_http_client_set_token (CaraHttpClient *c, const char *bearer_token);
/* Sends "@name: @value" with every request. */
void cara_http_client_add_header (CaraHttpClient *c, const char *name, const char *value);
void cara_http_client_set_ca_file (CaraHttpClient *c, const char *ca_file);
void cara_http_client_set_client_cert (CaraHttpClient *c, const char *cert, const char *key);
/* Whole-request timeout in ms (0 = none); connect timeout is separate and defaults to 5 s. */
void cara_http_client_set_timeout (CaraHttpClient *c, guint timeout_ms);
void cara_http_client_set_connect_timeout (CaraHttpClient *c, guint timeout_ms);
void cara_http_client_set_user_agent (CaraHttpClient *c, const char *ua);
/* The receive buffer of a transfer (CURLOPT_BUFFERSIZE; 0 = libcurl's 16 KiB): larger for bulk
 * streams, so that each chunk handed to a CaraHttpDataFunc is bigger. */
void cara_http_client_set_buffer_size (CaraHttpClient *c, guint bytes);

/* Transport failure -> CARA_ERROR_UNREACHABLE (refused, DNS, cut, timed out) or CARA_ERROR_FAILED.
 * Any HTTP status is a successful request: check r->status yourself. @path may carry a query. */
CaraHttpResponse *cara_http_client_request (CaraHttpClient *c, const char *method, const char *path,
                                            const char *content_type, const char *body, gsize body_len,
                                            GError **error);

/* JSON convenience: sends @body (may be NULL) as application/json; on 2xx returns the parsed
 * body in *ret_json (NULL for an empty body) and the status in *ret_status; on other statuses
 * converts the problem+json body into a GError (cara_http_error_from_response). */
gboolean cara_http_client_json (CaraHttpClient *c, const char *method, const char *path, JsonNode *body,
                                guint *ret_status, JsonNode **ret_json, GError **error);

/* Streaming: @on_data is called for every chunk as it arrives; returning FALSE stops the transfer
 * (which then returns TRUE).  Non-2xx responses are read whole and turned into a GError.
 * @cancellable may be NULL; when cancelled the transfer stops and FALSE with G_IO_ERROR_CANCELLED
 * is returned. */
typedef gboolean (*CaraHttpDataFunc) (const char *data, gsize len, gpointer user_data);
gboolean cara_http_client_stream (CaraHttpClient *c, const char *method, const char *path,
                                  const char *content_type, const char *body, gsize body_len,
                                  CaraHttpDataFunc on_data, gpointer user_data,
                                  GCancellable *cancellable, GError **error);

/* Problem+json (or plain body) -> GError with a code from the HTTP status and the message
 * "<title>: <detail>" (reference §6 APIError formatting). */
GError *cara_http_error_from_response (const CaraHttpResponse *r);

/* Percent-encode one path segment or query value. */
char *cara_http_escape (const char *s);
