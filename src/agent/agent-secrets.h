/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The Secrets a project uses, on the node (SPEC §12): fetched from the server with the node's
 * token, written as files only under the agent's RuntimeDirectory (a tmpfs) and bind-mounted
 * read-only, env[].valueFrom resolved into the container's environment, registry credentials for
 * pulls.  Nothing here logs a value; the spec hash covers the Secrets' resourceVersions, never a
 * value, so a changed Secret rolls the services that use it and no label depends on a value. */

#include <json-glib/json-glib.h>

#include "agent.h"
#include "cara-model.h"

/* Every Secret @p names (env, secrets[], imagePullSecrets): name -> CaraSecret* with values.  An
 * empty table when it names none (no request then).  The server's refusal (403, 404, 503 when it
 * cannot open them) comes back as its error. */
GHashTable *agent_secrets_fetch (const AgentConfig *cfg, const CaraProject *p, GError **error);
/* The ingress proxy takes its certificates from Secrets (tls.crt, tls.key), unless
 * PROXY_TLS_CERT_DIR names a directory of them. */
void agent_secrets_serve_tls (const AgentConfig *cfg);

/* Completes the container-create @body of @svc (reconcile_container_body's) with the Secrets:
 * env[].valueFrom values in "Env", files of secrets[] written under
 * RUNTIME_DIR/secrets/PROJECT/SERVICE/ and bound read-only in HostConfig.Binds, and the hash (the
 * label and *@hash) folded with what the service uses of them (names, keys, paths, modes,
 * resourceVersions). */
gboolean agent_secrets_apply (const AgentConfig *cfg, const CaraProject *p, const CaraService *svc, GHashTable *secrets,
                              JsonNode *body, char **hash, GError **error);

/* Docker's X-Registry-Auth for pulling @image: from the first of spec.imagePullSecrets whose
 * server is the image's registry host; NULL when none is. */
char *agent_secrets_registry_auth (const CaraProject *p, GHashTable *secrets, const char *image);

/* The condition reason for a failed pull from Docker's message: ImagePullAuthFailed (refused
 * login), ImageNotFound, or ImagePullFailed. */
const char *agent_secrets_pull_reason (const char *message);

/* Removes the project's Secret files (teardown). */
void agent_secrets_remove (const AgentConfig *cfg, const char *project);
