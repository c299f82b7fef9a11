/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small Docker Engine API client over libcurl (cara-http-client).  One DockerClient per thread
 * (the underlying CURL handle is not thread-safe); creating one is cheap because the negotiated API
 * version is cached process-wide.  Docker's 404 becomes CARA_ERROR_NOT_FOUND, 409
 * CARA_ERROR_CONFLICT, anything else CARA_ERROR_FAILED with Docker's own message. */

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cara-http-client.h"

/* Newest Engine API we speak; older daemons get their own version. */
#define DOCKER_API_VERSION_MAX "1.41"

typedef struct _DockerClient DockerClient;

/* @host: "unix:///var/run/docker.sock" or "tcp://host:port".  Negotiates the API version with
 * GET /version the first time a host is seen (fails if the daemon is unreachable). */
DockerClient *docker_client_new (const char *host, GError **error);
/* The calling thread's client for @host, made on first use and kept until the thread ends, so that
 * a reconcile worker reuses its connection and negotiated version instead of building a client
 * per call.  Borrowed: do not free.  NULL (and an error) while Docker cannot be reached. */
DockerClient *docker_client_for_thread (const char *host, GError **error);
void docker_client_free (DockerClient *dc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DockerClient, docker_client_free)

const char *docker_client_get_api_version (DockerClient *dc);
CaraHttpClient *docker_client_get_http (DockerClient *dc);
/* Picks the version for the /vX.YY prefix: min(@server, ours). */
char *docker_negotiate_version (const char *server_api_version);

/* Generic call: @path is relative to the version prefix ("/containers/json?all=1").  On 2xx the
 * parsed body (NULL when empty) goes to *ret_json if non-NULL. */
gboolean docker_call (DockerClient *dc, const char *method, const char *path, JsonNode *body,
                      JsonNode **ret_json, GError **error);

gboolean docker_ping (DockerClient *dc, GError **error);

/* ---- containers ---- */
/* Label filters: NULL-terminated "key=value" strings (all must match). */
JsonArray *docker_container_list (DockerClient *dc, const char *const *label_filters, GError **error);
JsonObject *docker_container_inspect (DockerClient *dc, const char *id_or_name, GError **error);
gboolean docker_container_create (DockerClient *dc, const char *name, JsonNode *config, char **ret_id,
                                  GError **error);
gboolean docker_container_start (DockerClient *dc, const char *id, GError **error);
gboolean docker_container_stop (DockerClient *dc, const char *id, int timeout_s, GError **error);
/* Force-removes; its anonymous volumes go too (named volumes are ours to manage). */
gboolean docker_container_remove (DockerClient *dc, const char *id, GError **error);

/* ---- networks ---- */
JsonArray *docker_network_list (DockerClient *dc, const char *const *label_filters, GError **error);
JsonObject *docker_network_inspect (DockerClient *dc, const char *id_or_name, GError **error);
gboolean docker_network_create (DockerClient *dc, const char *name, const char *subnet, GHashTable *labels,
                                char **ret_id, GError **error);
gboolean docker_network_remove (DockerClient *dc, const char *id_or_name, GError **error);

/* ---- volumes ---- */
JsonObject *docker_volume_inspect (DockerClient *dc, const char *name, GError **error);
gboolean docker_volume_create (DockerClient *dc, const char *name, GHashTable *labels, GError **error);
gboolean docker_volume_remove (DockerClient *dc, const char *name, GError **error);
JsonArray *docker_volume_list (DockerClient *dc, const char *const *label_filters, GError **error);

/* ---- images ---- */
JsonObject *docker_image_inspect (DockerClient *dc, const char *image, GError **error);
/* Pulls @image unless present.  Errors reported inside Docker's progress stream count as failure;
 * the whole pull is bounded by @timeout_s. */
gboolean docker_image_ensure (DockerClient *dc, const char *image, guint timeout_s, GError **error);
/* The same with Docker's X-Registry-Auth header (@registry_auth may be NULL: none) on the pull;
 * *@ret_pulled (may be NULL) is TRUE when a pull was tried (the image was not there). */
gboolean docker_image_ensure_auth (DockerClient *dc, const char *image, const char *registry_auth, guint timeout_s,
                                   gboolean *ret_pulled, GError **error);

/* Called after every Engine API request (any thread) with the HTTP status, 0 when no answer came
 * (metrics).  Set once at start. */
typedef void (*DockerRequestObserver) (guint status, gpointer user_data);
void docker_set_request_observer (DockerRequestObserver func, gpointer user_data);

/* ---- streams ---- */
/* Container logs, Docker's 8-byte stream headers removed for non-TTY containers.  @on_data gets
 * plain output bytes; returning FALSE stops. */
gboolean docker_container_logs (DockerClient *dc, const char *id, gboolean follow, const char *tail,
                                gboolean timestamps, CaraHttpDataFunc on_data, gpointer user_data,
                                GCancellable *cancellable, GError **error);

/* GET /events with @filters_json (Docker's filters object); @on_event gets each parsed event. */
typedef void (*DockerEventFunc) (JsonObject *event, gpointer user_data);
gboolean docker_events (DockerClient *dc, const char *filters_json, DockerEventFunc on_event, gpointer user_data,
                        GCancellable *cancellable, GError **error);

/* Helpers */
char *docker_filters_labels (const char *const *label_filters); /* {"label":[...]} as JSON */
const char *docker_labels_get (JsonObject *obj_with_labels, const char *key); /* "Labels" member */
