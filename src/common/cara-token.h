/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Bearer tokens (SPEC §9): generation, the 0600 token files of the state directory, constant-time
 * comparison, and the node credentials derived from a node token.
 *
 * A node token is the secret an agent holds for its node: it registers the node with the join
 * token plus "Cara-Node-Token: <node token>", then authenticates everything else with the node
 * token alone.  The server keeps only its hash, and the agent API credential derived from it,
 * with which the server's relays (logs, port-forward) call that node's agent. */

#include <glib.h>

/* The HTTP header carrying a node token at registration. */
#define CARA_NODE_TOKEN_HEADER "Cara-Node-Token"
#define CARA_TOKEN_MIN_LENGTH 16
#define CARA_TOKEN_MAX_LENGTH 256
/* Admin, join and read-only tokens set in a configuration or the environment. */
#define CARA_CONFIGURED_TOKEN_MIN_LENGTH 32

/* 64 hex characters from getrandom(). */
char *cara_token_generate (GError **error);

/* The token kept in @path: read when it holds one, else generated and written there with mode
 * 0600 (written aside and renamed; @dir created 0700 when missing).  *@ret_created (may be NULL)
 * says which. */
char *cara_token_load_or_create (const char *path, gboolean *ret_created, GError **error);

/* Compares the SHA-256 digests of both in constant time (no timing oracle on where they differ or
 * on the expected token's length); FALSE when @expected is NULL or empty. */
gboolean cara_token_equal (const char *given, const char *expected);

/* FALSE with a message when @token is not usable as a node token (length, characters). */
gboolean cara_token_check (const char *token, const char *what, GError **error);

/* sha256 of a node token, hex: what the server stores and looks callers up by. */
char *cara_node_token_hash (const char *node_token);
/* The credential the server presents to the agent of a node: HMAC-SHA256 keyed with the node
 * token, hex.  The agent computes it from its token, the server at registration. */
char *cara_node_token_agent_secret (const char *node_token);
