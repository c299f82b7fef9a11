/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-store"
#include "config.h"

#include "cara-error.h"
#include "store-private.h"

/* Versioned migrations: each entry is applied once, in order, recorded in schema_migrations.
 * Never edit an applied migration; append a new one. */
static const struct {
  int version;
  const char *name;
  const char *sql;
} migrations[] = {
  { 1, "initial schema",
    "CREATE SEQUENCE resource_version_seq;\n"
    /* µs since the epoch <-> timestamptz, exact in both directions. */
    "CREATE FUNCTION cara_ts(usec bigint) RETURNS timestamptz LANGUAGE sql STABLE AS\n"
    "  $$ SELECT 'epoch'::timestamptz + usec * interval '1 microsecond' $$;\n"
    "CREATE FUNCTION cara_usec(t timestamptz) RETURNS bigint LANGUAGE sql STABLE AS\n"
    "  $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;\n"
    /* resourceVersions are handed out under a lock held to commit: events commit in rv order. */
    "CREATE FUNCTION cara_next_rv() RETURNS bigint LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  PERFORM pg_advisory_xact_lock(1667330657, 2);\n"
    "  RETURN nextval('resource_version_seq');\n"
    "END $$;\n"
    "CREATE TABLE nodes (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  state TEXT NOT NULL DEFAULT '',\n"
    "  unschedulable BOOLEAN NOT NULL DEFAULT false,\n"
    "  resource_version BIGINT NOT NULL,\n"
    "  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  last_heartbeat TIMESTAMPTZ,\n"
    "  labels JSONB NOT NULL DEFAULT '{}',\n"
    "  annotations JSONB NOT NULL DEFAULT '{}',\n"
    "  spec JSONB NOT NULL DEFAULT '{}',\n"
    "  status JSONB NOT NULL DEFAULT '{}');\n"
    "CREATE INDEX nodes_state_idx ON nodes (state);\n"
    "CREATE INDEX nodes_labels_idx ON nodes USING GIN (labels);\n"
    "CREATE TABLE projects (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  phase TEXT NOT NULL DEFAULT '',\n"
    "  node_ref TEXT NOT NULL DEFAULT '',\n"
    "  resource_version BIGINT NOT NULL,\n"
    "  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  expire_at TIMESTAMPTZ,\n"
    "  labels JSONB NOT NULL DEFAULT '{}',\n"
    "  annotations JSONB NOT NULL DEFAULT '{}',\n"
    "  spec JSONB NOT NULL DEFAULT '{}',\n"
    "  status JSONB NOT NULL DEFAULT '{}');\n"
    "CREATE INDEX projects_phase_idx ON projects (phase, name);\n"
    "CREATE INDEX projects_node_ref_phase_idx ON projects (node_ref, phase);\n"
    "CREATE INDEX projects_expire_at_idx ON projects (expire_at) WHERE expire_at IS NOT NULL;\n"
    "CREATE INDEX projects_labels_idx ON projects USING GIN (labels);\n"
    "CREATE TABLE events (\n"
    "  rv BIGINT PRIMARY KEY,\n"
    "  kind TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  type TEXT NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),\n"
    "  object JSONB NOT NULL,\n"
    "  at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
    "CREATE INDEX events_kind_rv_idx ON events (kind, rv);\n"
    "CREATE INDEX events_at_idx ON events (at);\n" },
  /* SPEC §9: an agent acts for its own node only.  Not part of the Node object (never on the wire
   * or in events): the sha256 of the node's token and the credential the relays present to its agent. */
  { 2, "node credentials",
    "ALTER TABLE nodes ADD COLUMN token_hash TEXT, ADD COLUMN agent_secret TEXT;\n"
    "CREATE UNIQUE INDEX nodes_token_hash_idx ON nodes (token_hash) WHERE token_hash IS NOT NULL;\n" },
  /* The Project as the API sends it (compact JSON text), written with every change of the row, so a
   * list splices the texts instead of decoding and encoding every project (~100 µs each).  NULL for
   * rows last written before this migration: those are encoded from their columns. */
  { 3, "project object text",
    "ALTER TABLE projects ADD COLUMN object TEXT;\n" },
  /* The digest of the last heartbeat body written through the full path: while it is set (every
   * other write of the row clears it), a heartbeat with the same body changes nothing but the
   * time, and the time is written in batches with no event (store_flush_heartbeats). */
  { 4, "heartbeat digest",
    "ALTER TABLE nodes ADD COLUMN heartbeat_digest TEXT;\n" },
  /* SPEC §12: Secrets.  The values are sealed (secret-keys.c), each with the id of its key. */
  { 5, "secrets",
    "CREATE TABLE secrets (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  type TEXT NOT NULL DEFAULT 'Opaque',\n"
    "  resource_version BIGINT NOT NULL,\n"
    "  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  labels JSONB NOT NULL DEFAULT '{}',\n"
    "  annotations JSONB NOT NULL DEFAULT '{}');\n"
    "CREATE TABLE secret_values (\n"
    "  secret TEXT NOT NULL REFERENCES secrets (name) ON DELETE CASCADE,\n"
    "  key TEXT NOT NULL,\n"
    "  size BIGINT NOT NULL,\n"
    "  key_id TEXT NOT NULL,\n"
    "  sealed TEXT NOT NULL,\n"
    "  PRIMARY KEY (secret, key));\n" },
  /* SPEC §11: human-readable events (cara-event.h), apart from the change feed `events`.  id is a
   * resourceVersion (cara_next_rv), so the feed row written with each one keeps watch order. */
  { 6, "cluster events",
    "CREATE TABLE cluster_events (\n"
    "  id BIGINT PRIMARY KEY,\n"
    "  at TIMESTAMPTZ NOT NULL,\n"
    "  type TEXT NOT NULL CHECK (type IN ('Normal', 'Warning')),\n"
    "  reason TEXT NOT NULL,\n"
    "  object_kind TEXT NOT NULL,\n"
    "  object_name TEXT NOT NULL,\n"
    "  node TEXT NOT NULL DEFAULT '',\n"
    "  message TEXT NOT NULL DEFAULT '');\n"
    "CREATE INDEX cluster_events_at_idx ON cluster_events (at, id);\n"
    "CREATE INDEX cluster_events_object_idx ON cluster_events (object_kind, object_name, at);\n"
    "CREATE INDEX cluster_events_node_idx ON cluster_events (node, at);\n" },
  /* SPEC §13: metadata.generation (+1 per spec change) and the last REVISION_HISTORY_LIMIT specs
   * of each project, removed with it. */
  { 7, "generations and revisions",
    "ALTER TABLE projects ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;\n"
    "CREATE TABLE project_revisions (\n"
    "  project TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,\n"
    "  revision BIGINT NOT NULL,\n"
    "  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
    "  change_cause TEXT NOT NULL DEFAULT '',\n"
    "  spec JSONB NOT NULL,\n"
    "  PRIMARY KEY (project, revision));\n" },
};

gboolean
store_migrate (PGconn *c, GError **error)
{
  g_autoptr (StoreTxn) txn = store_txn_begin_on (c, error);
  if (txn == NULL)
    return FALSE;
  /* Two servers starting at once: the second waits here, then sees the migrations applied. */
  g_autoptr (PGresult) l = store_exec (c, "SELECT pg_advisory_xact_lock(1667330657, 1)", 0, NULL, error);
  g_autoptr (PGresult) t = l ? store_exec (c,
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", 0, NULL, error) : NULL;
  g_autoptr (PGresult) v = t ? store_exec (c, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, error)
                             : NULL;
  if (v == NULL)
    return FALSE;
  int current = atoi (PQgetvalue (v, 0, 0));
  for (guint i = 0; i < G_N_ELEMENTS (migrations); i++)
    {
      if (migrations[i].version <= current)
        continue;
      /* PQexec: a migration is several statements. */
      g_autoptr (PGresult) r = PQexec (c, migrations[i].sql);
      if (PQresultStatus (r) != PGRES_COMMAND_OK)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "migration %d (%s) failed: %s", migrations[i].version,
                       migrations[i].name, PQresultErrorMessage (r));
          return FALSE;
        }
      g_autofree char *ver = g_strdup_printf ("%d", migrations[i].version);
      const char *p[] = { ver, migrations[i].name };
      g_autoptr (PGresult) ins = store_exec (c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                             2, p, error);
      if (ins == NULL)
        return FALSE;
      g_info ("Applied database migration %d (%s)", migrations[i].version, migrations[i].name);
    }
  return store_txn_commit (txn, error);
}
