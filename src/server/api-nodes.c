/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-api"
#include "config.h"

#include "api.h"
#include "cara-error.h"
#include "cara-log.h"
#include "cara-netaddr.h"
#include "cara-token.h"
#include "cara-validate.h"
#include "server-auth.h"
#include "server-token-cache.h"
#include "heartbeat-batch.h"
#include "store.h"

static void
respond_node (CaraHttpRequest *req, guint status, const CaraNode *n)
{
  g_autoptr (JsonNode) json = cara_node_to_json (n);
  cara_http_respond_json (req, status, json);
}

/* Decodes a Node body; responds 400 and returns NULL on failure. */
static CaraNode *
decode_node (CaraHttpRequest *req)
{
  g_autoptr (JsonNode) json = api_parse_body (req);
  if (json == NULL || !api_check_fields (req, "Node", json))
    return NULL;
  g_autoptr (GError) error = NULL;
  CaraNode *n = cara_node_from_json (json, &error);
  if (n == NULL)
    api_respond_invalid_body (req, error);
  return n;
}

/* The credential of a registering agent (SPEC §9): its node token, from the Cara-Node-Token header.
 * FALSE (and a 400 sent) when the header is there but unusable; *ret_* stay NULL without one. */
static gboolean
registration_credential (CaraHttpRequest *req, char **ret_hash, char **ret_secret)
{
  const char *token = cara_http_request_get_header (req, CARA_NODE_TOKEN_HEADER);
  if (token == NULL)
    return TRUE;
  g_autoptr (GError) error = NULL;
  if (!cara_token_check (token, "the " CARA_NODE_TOKEN_HEADER " header", &error))
    {
      cara_http_respond_problem (req, 400, error->message);
      return FALSE;
    }
  *ret_hash = cara_node_token_hash (token);
  *ret_secret = cara_node_token_agent_secret (token);
  return TRUE;
}

/* Labels an agent may not give its own node: they steer what runs where (SPEC §9). */
#define ADMIN_LABEL_PREFIX "node-role.caravanserai/"

static gboolean
check_labels_caller (CaraHttpRequest *req, const CaraNode *n, GError **error)
{
  if (g_str_equal (server_auth_request_role (req), "admin"))
    return TRUE;
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, n->metadata.labels);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (g_str_has_prefix (key, ADMIN_LABEL_PREFIX))
      {
        g_set_error (error, CARA_ERROR, CARA_ERROR_FORBIDDEN,
                     "metadata.labels: %s: labels beginning with " ADMIN_LABEL_PREFIX " are set by an "
                     "administrator (PUT /api/v1/nodes/%s), not at registration", (const char *) key, n->metadata.name);
        return FALSE;
      }
  return TRUE;
}

/* The join token gets one answer for every registration it may not make (an existing node under
 * another or no token, a node token bound elsewhere), so it cannot probe which tokens are bound. */
static void
respond_join_refused (CaraHttpRequest *req, const char *name, const GError *cause)
{
  g_debug ("Registration of node %s with the join token refused: %s", name, cause ? cause->message : "");
  g_autofree char *detail = g_strdup_printf (
      "node %s cannot be registered with this join token and node token: the join token creates new nodes, each "
      "with a node token of its own; an existing node keeps the token bound to it (an administrator binds a new "
      "one with caractrl node reset-token %s, or deletes the node)", name, name);
  cara_http_respond_problem (req, 403, detail);
}

static gboolean
address_differs (const CaraNode *cur, const CaraNode *body)
{
  const CaraNodeNetwork *want = &body->status.network;
  return (want->ip && *want->ip && g_strcmp0 (want->ip, cur->status.network.ip) != 0)
         || (want->agent_port != 0 && want->agent_port != cur->status.network.agent_port);
}

/* Registering again is how an agent changes its address (heartbeats cannot move it). */
static gboolean
mutate_registered_address (CaraNode *cur, gpointer user_data, GError **error)
{
  const CaraNode *body = user_data;
  const CaraNodeNetwork *want = &body->status.network;
  if (want->ip && *want->ip)
    {
      g_free (cur->status.network.ip);
      cur->status.network.ip = g_strdup (want->ip);
    }
  if (want->agent_port != 0)
    cur->status.network.agent_port = want->agent_port;
  return TRUE;
}

/* The node registered again, its address updated when the registration carries another one. */
static gboolean
registered_node (const CaraNode *body, CaraNode **ret, GError **error)
{
  g_autoptr (CaraNode) cur = NULL;
  if (!store_get_node (body->metadata.name, &cur, error))
    return FALSE;
  if (address_differs (cur, body))
    return store_update_node (body->metadata.name, mutate_registered_address, (gpointer) body, ret, error);
  *ret = g_steal_pointer (&cur);
  return TRUE;
}

/* POST /api/v1/nodes: the reference API's create (409 when the node exists).  An agent registering
 * with its node token binds the token to the node on first registration; registering again with
 * the same token is idempotent (200 and the node), with another token 403. */
void
api_nodes_create (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraNode) n = decode_node (req);
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL, *secret = NULL;
  if (n == NULL)
    return;
  if (n->metadata.name == NULL || *n->metadata.name == '\0')
    {
      cara_http_respond_problem (req, 400, "metadata.name is required");
      return;
    }
  if (!cara_validate_node_name (n->metadata.name, &error) || !cara_validate_node (n, &error)
      || !server_auth_check_node (req, n->metadata.name, "another node", &error)
      || !check_labels_caller (req, n, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (!registration_credential (req, &hash, &secret))
    return;
  StoreNodeCredential cred = { hash, secret };
  if (hash != NULL)
    {
      g_autoptr (CaraNode) cur = NULL;
      if (store_bind_node_credential (n->metadata.name, &cred, !server_auth_request_is_join (req), &error)
          && registered_node (n, &cur, &error))
        {
          server_auth_token_bound (hash);
          cara_log_node (G_LOG_LEVEL_INFO, n->metadata.name, "Node %s registered again by its agent", n->metadata.name);
          respond_node (req, 200, cur);
          return;
        }
      if (!g_error_matches (error, CARA_ERROR, CARA_ERROR_NOT_FOUND))
        {
          if (server_auth_request_is_join (req) && (g_error_matches (error, CARA_ERROR, CARA_ERROR_FORBIDDEN)
                                                   || g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT)))
            respond_join_refused (req, n->metadata.name, error);
          else
            cara_http_respond_error (req, error);
          return;
        }
      g_clear_error (&error);
    }
  if (n->status.state == CARA_NODE_STATE_NONE)
    n->status.state = CARA_NODE_STATE_NOT_READY;
  if (!store_create_node (n, hash ? &cred : NULL, &error))
    {
      if (hash != NULL && server_auth_request_is_join (req) && g_error_matches (error, CARA_ERROR, CARA_ERROR_CONFLICT))
        respond_join_refused (req, n->metadata.name, error);
      else
        cara_http_respond_error (req, error);
      return;
    }
  server_auth_token_bound (hash);
  cara_log_node (G_LOG_LEVEL_INFO, n->metadata.name, "Created node %s%s", n->metadata.name,
                 hash ? " (its node token bound)" : "");
  respond_node (req, 201, n);
}

void
api_nodes_list (CaraHttpRequest *req, gpointer user_data)
{
  if (api_dispatch_watch (req, "Node"))
    return;
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_list_nodes (&nodes, NULL, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autoptr (JsonNode) json = cara_node_list_to_json (nodes);
  cara_http_respond_json (req, 200, json);
}

void
api_nodes_get (CaraHttpRequest *req, gpointer user_data)
{
  g_autoptr (CaraNode) n = NULL;
  g_autoptr (GError) error = NULL;
  if (!store_get_node (cara_http_request_get_param (req, "name"), &n, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  respond_node (req, 200, n);
}

static gboolean
mutate_spec (CaraNode *cur, gpointer user_data, GError **error)
{
  CaraNode *body = user_data;
  if (!api_check_resource_version ("node", cur->metadata.name, body->metadata.resource_version,
                                   cur->metadata.resource_version, error))
    return FALSE;
  g_free (cur->spec.hostname);
  cur->spec.hostname = g_strdup (body->spec.hostname);
  cur->spec.unschedulable = body->spec.unschedulable;
  g_hash_table_unref (cur->metadata.labels);
  cur->metadata.labels = g_hash_table_ref (body->metadata.labels);
  g_hash_table_unref (cur->metadata.annotations);
  cur->metadata.annotations = g_hash_table_ref (body->metadata.annotations);
  return TRUE;
}

void
api_nodes_update (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (CaraNode) body = decode_node (req);
  g_autoptr (CaraNode) n = NULL;
  g_autoptr (GError) error = NULL;
  if (body == NULL)
    return;
  if (body->metadata.name != NULL && *body->metadata.name != '\0' && g_strcmp0 (body->metadata.name, name) != 0)
    {
      g_autofree char *detail = g_strdup_printf ("metadata.name \"%s\" does not match URL path \"%s\"",
                                                 body->metadata.name, name);
      cara_http_respond_problem (req, 400, detail);
      return;
    }
  if (!cara_validate_label_map (body->metadata.labels, "metadata.labels", &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  if (!store_update_node (name, mutate_spec, body, &n, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  cara_log_node (G_LOG_LEVEL_INFO, name, "Updated node %s", name);
  respond_node (req, 200, n);
}

void
api_nodes_delete (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  if (!store_delete_node (name, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  server_token_cache_forget_node (name);
  cara_log_node (G_LOG_LEVEL_INFO, name, "Deleted node %s", name);
  cara_http_respond_empty (req, 204);
}

typedef struct {
  CaraHeartbeat *hb;      /* NULL: timestamp-only */
  GError *decode_error;   /* reported after the existence check, as the reference does */
  CaraNodeState old_state;
  gboolean address_pinned; /* a node token's heartbeat: the address stays the registered one */
} HeartbeatCtx;

/* The relays (logs, port-forward, exec, moves) connect to a node's network.ip and agentPort.  A
 * node token's heartbeat may set them on a node that has none yet, never move them: the agent
 * registers again to change its address (SPEC §9), so a stolen node token cannot point the relays
 * at another host once the node is registered. */
static gboolean
check_address_unchanged (const CaraNode *n, const CaraHeartbeat *hb, GError **error)
{
  const CaraNodeNetwork *cur = &n->status.network, *want = &hb->network;
  gboolean ip_moves = cur->ip && *cur->ip && want->ip && *want->ip && g_strcmp0 (cur->ip, want->ip) != 0;
  gboolean port_moves = cur->agent_port != 0 && want->agent_port != 0 && cur->agent_port != want->agent_port;
  if (!ip_moves && !port_moves)
    return TRUE;
  g_set_error (error, CARA_ERROR, CARA_ERROR_CONFLICT,
               "status.network: node %s is registered at %s:%" G_GINT64_FORMAT " and a heartbeat cannot move it to "
               "%s:%" G_GINT64_FORMAT "; the agent "
               "registers again (POST /api/v1/nodes with its node token) to change its address",
               n->metadata.name, cur->ip ? cur->ip : "", cur->agent_port, want->ip && *want->ip ? want->ip : cur->ip,
               want->agent_port ? want->agent_port : cur->agent_port);
  return FALSE;
}

static void
set_str (char **dst, const char *src)
{
  if (src != NULL && *src != '\0')
    {
      g_free (*dst);
      *dst = g_strdup (src);
    }
}

static gboolean
mutate_heartbeat (CaraNode *n, gpointer user_data, GError **error)
{
  HeartbeatCtx *ctx = user_data;
  if (ctx->decode_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&ctx->decode_error));
      return FALSE;
    }
  ctx->old_state = n->status.state;
  g_clear_pointer (&n->status.last_heartbeat, g_date_time_unref);
  n->status.last_heartbeat = g_date_time_new_now_utc ();
  /* The Ready condition is what heartbeats keep probing: its lastHeartbeatTime is the last one
   * (node-health sets its status and transition time). */
  CaraCondition *ready = cara_conditions_find (n->status.conditions, "Ready");
  if (ready != NULL)
    {
      g_clear_pointer (&ready->last_heartbeat_time, g_date_time_unref);
      ready->last_heartbeat_time = g_date_time_ref (n->status.last_heartbeat);
    }
  CaraHeartbeat *hb = ctx->hb;
  if (hb == NULL)
    return TRUE;
  /* Draining is an administrator's decision: heartbeats never overwrite it (SPEC §2). */
  if (hb->state != CARA_NODE_STATE_NONE && n->status.state != CARA_NODE_STATE_DRAINING)
    n->status.state = hb->state;
  if (hb->has_network && ctx->address_pinned && !check_address_unchanged (n, hb, error))
    return FALSE;
  if (hb->has_network)
    {
      CaraNodeNetwork *dst = &n->status.network, *src = &hb->network;
      set_str (&dst->ip, src->ip);
      set_str (&dst->dns_name, src->dns_name);
      set_str (&dst->mode, src->mode);
      if (src->agent_port != 0)
        dst->agent_port = src->agent_port;
      if (src->throughput.download || src->throughput.upload || src->throughput.last_test_time)
        {
          g_free (dst->throughput.download);
          g_free (dst->throughput.upload);
          g_clear_pointer (&dst->throughput.last_test_time, g_date_time_unref);
          dst->throughput.download = g_strdup (src->throughput.download);
          dst->throughput.upload = g_strdup (src->throughput.upload);
          dst->throughput.last_test_time = src->throughput.last_test_time
                                           ? g_date_time_ref (src->throughput.last_test_time) : NULL;
        }
    }
  if (hb->capacity != NULL && g_hash_table_size (hb->capacity) > 0)
    {
      g_hash_table_unref (n->status.capacity);
      n->status.capacity = g_hash_table_ref (hb->capacity);
    }
  if (hb->allocatable != NULL && g_hash_table_size (hb->allocatable) > 0)
    {
      g_hash_table_unref (n->status.allocatable);
      n->status.allocatable = g_hash_table_ref (hb->allocatable);
    }
  if (hb->has_info)
    {
      set_str (&n->status.info.kernel_version, hb->info.kernel_version);
      set_str (&n->status.info.os_image, hb->info.os_image);
      set_str (&n->status.info.agent_version, hb->info.agent_version);
    }
  return TRUE;
}

void
api_nodes_heartbeat (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  HeartbeatCtx ctx = { 0 };
  g_autoptr (CaraHeartbeat) hb = NULL;
  g_autoptr (CaraNode) n = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  const char *body = cara_http_request_get_body (req, &len);
  g_autofree char *digest = heartbeat_batch_digest (body, len);
  if (heartbeat_batch_absorb (name, digest))
    {
      cara_http_respond_empty (req, 204);
      return;
    }
  if (len > 0)
    {
      g_autoptr (JsonNode) json = cara_json_parse (body, len, &ctx.decode_error);
      if (json != NULL)
        hb = cara_heartbeat_from_json (json, &ctx.decode_error);
      /* The relays (logs, port-forward) connect to this address: only a literal IP, never a name
       * or anything else a URL could make of it. */
      if (hb != NULL && hb->has_network && ctx.decode_error == NULL)
        cara_ip_check (hb->network.ip, "network.ip", &ctx.decode_error);
      if (ctx.decode_error != NULL)
        g_prefix_error (&ctx.decode_error, "invalid request body: ");
    }
  ctx.hb = hb;
  ctx.address_pinned = server_auth_request_node (req) != NULL;
  if (!store_update_node (name, mutate_heartbeat, &ctx, &n, &error))
    {
      g_clear_error (&ctx.decode_error);
      cara_http_respond_error (req, error);
      return;
    }
  if (n->status.state != ctx.old_state)
    cara_log_node (G_LOG_LEVEL_INFO, name, "Node %s is now %s", name, cara_node_state_to_string (n->status.state));
  heartbeat_batch_written (name, n->metadata.resource_version, digest);
  cara_http_respond_empty (req, 204);
}

/* POST /api/v1/nodes/{name}/reset-token (admin): a new node token for the node, shown once; the
 * one bound before (if any) stops working.  The way to give a token to a node registered while
 * authorisation was off, or to replace an agent's lost one. */
void
api_nodes_reset_token (CaraHttpRequest *req, gpointer user_data)
{
  const char *name = cara_http_request_get_param (req, "name");
  g_autoptr (GError) error = NULL;
  g_autofree char *token = cara_token_generate (&error);
  if (token == NULL)
    {
      cara_http_respond_error (req, error);
      return;
    }
  g_autofree char *hash = cara_node_token_hash (token);
  g_autofree char *secret = cara_node_token_agent_secret (token);
  StoreNodeCredential cred = { hash, secret };
  if (!store_reset_node_credential (name, &cred, &error))
    {
      cara_http_respond_error (req, error);
      return;
    }
  server_auth_token_bound (hash);
  server_token_cache_forget_node (name);
  cara_log_node (G_LOG_LEVEL_INFO, name, "Node %s: a new node token was bound by an administrator", name);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cara_http_respond_json (req, 200, root);
}
