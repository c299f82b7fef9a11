/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cara-json.h"

#include "netview.h"

#include <string.h>

#include "agent.h"
#include "cara-error.h"

struct _NetView {
  gboolean loaded;
  GHashTable *subnets;     /* network name -> NetpoolCidr*, for the networks whose subnet we know */
  GArray *other_used;      /* host routes, networks without a name we track: NetpoolCidr */
  GHashTable *names;       /* every network name known to exist (set) */
  GHashTable *mine;        /* project -> network name */
  GHashTable *duplicates;  /* project -> GPtrArray of ids, when the last load found several */
};

NetView *
netview_new (void)
{
  NetView *v = g_new0 (NetView, 1);
  v->subnets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  v->other_used = g_array_new (FALSE, FALSE, sizeof (NetpoolCidr));
  v->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  v->mine = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  v->duplicates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  return v;
}

void
netview_free (NetView *v)
{
  if (v == NULL)
    return;
  g_hash_table_unref (v->subnets);
  g_array_unref (v->other_used);
  g_hash_table_unref (v->names);
  g_hash_table_unref (v->mine);
  g_hash_table_unref (v->duplicates);
  g_free (v);
}

/* The first IPv4 subnet of a network's IPAM config. */
static gboolean
network_subnet (JsonObject *net, NetpoolCidr *ret)
{
  JsonObject *ipam = cara_json_object_object (net, "IPAM");
  JsonNode *cfgs = ipam ? json_object_get_member (ipam, "Config") : NULL;
  if (cfgs == NULL || !JSON_NODE_HOLDS_ARRAY (cfgs))
    return FALSE;
  JsonArray *a = json_node_get_array (cfgs);
  for (guint j = 0; j < json_array_get_length (a); j++)
    {
      JsonNode *e = json_array_get_element (a, j);
      if (JSON_NODE_HOLDS_OBJECT (e) && netpool_parse (cara_json_object_string (json_node_get_object (e), "Subnet"), ret, NULL))
        return TRUE;
    }
  return FALSE;
}

/* (name, id) order: which of several networks of one project is kept. */
static gboolean
network_before (JsonObject *a, JsonObject *b)
{
  int c = g_strcmp0 (cara_json_object_string (a, "Name"), cara_json_object_string (b, "Name"));
  return c < 0 || (c == 0 && g_strcmp0 (cara_json_object_string (a, "Id"), cara_json_object_string (b, "Id")) < 0);
}

void
netview_load (NetView *v, JsonArray *networks, const char *node, GArray *routes)
{
  g_autoptr (GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal); /* project -> JsonObject */

  g_hash_table_remove_all (v->subnets);
  g_array_set_size (v->other_used, 0);
  g_hash_table_remove_all (v->names);
  g_hash_table_remove_all (v->mine);
  g_hash_table_remove_all (v->duplicates);
  if (routes)
    g_array_append_vals (v->other_used, routes->data, routes->len);
  for (guint i = 0; networks && i < json_array_get_length (networks); i++)
    {
      JsonNode *e = json_array_get_element (networks, i);
      JsonObject *net = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *name = cara_json_object_string (net, "Name");
      NetpoolCidr c;
      if (name == NULL)
        continue;
      g_hash_table_add (v->names, g_strdup (name));
      if (network_subnet (net, &c) && g_hash_table_contains (v->subnets, name))
        g_array_append_val (v->other_used, c); /* a namesake (see netview_duplicates) */
      else if (network_subnet (net, &c))
        g_hash_table_insert (v->subnets, g_strdup (name), g_memdup2 (&c, sizeof c));
      JsonObject *labels = cara_json_object_object (net, "Labels");
      const char *project = cara_json_object_string (labels, AGENT_LABEL_PROJECT);
      if (project == NULL || g_strcmp0 (cara_json_object_string (labels, AGENT_LABEL_NODE), node) != 0)
        continue;
      JsonObject *before = g_hash_table_lookup (keep, project);
      if (before != NULL)
        {
          GPtrArray *ids = g_hash_table_lookup (v->duplicates, project);
          if (ids == NULL)
            {
              ids = g_ptr_array_new_with_free_func (g_free);
              g_hash_table_insert (v->duplicates, g_strdup (project), ids);
              g_ptr_array_add (ids, g_strdup (cara_json_object_string (before, "Id")));
            }
          g_ptr_array_add (ids, g_strdup (cara_json_object_string (net, "Id")));
        }
      if (before == NULL || network_before (net, before))
        g_hash_table_insert (keep, (gpointer) project, net);
    }
  GHashTableIter it;
  gpointer k, val;
  g_hash_table_iter_init (&it, keep);
  while (g_hash_table_iter_next (&it, &k, &val))
    g_hash_table_insert (v->mine, g_strdup (k), g_strdup (cara_json_object_string (val, "Name")));
  v->loaded = TRUE;
}

gboolean
netview_loaded (NetView *v)
{
  return v->loaded;
}

const char *
netview_lookup (NetView *v, const char *project)
{
  return g_hash_table_lookup (v->mine, project);
}

GPtrArray *
netview_duplicates (NetView *v, const char *project)
{
  GPtrArray *ids = g_hash_table_lookup (v->duplicates, project);
  return ids ? g_ptr_array_ref (ids) : NULL;
}

static GArray *
used_subnets (NetView *v)
{
  GArray *used = g_array_copy (v->other_used);
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init (&it, v->subnets);
  while (g_hash_table_iter_next (&it, NULL, &val))
    g_array_append_val (used, *(NetpoolCidr *) val);
  return used;
}

gboolean
netview_reserve (NetView *v, const NetpoolCidr *pool, guint block_prefix, const char *project, const char *node,
                 NetpoolCidr *ret_subnet, char **ret_name, GError **error)
{
  g_autofree char *name = g_strdup_printf ("cara-%s", project);
  if (g_hash_table_contains (v->names, name))
    {
      g_free (name);
      name = g_strdup_printf ("cara-%s-%s", project, node);
    }
  g_autoptr (GArray) used = used_subnets (v);
  if (!netpool_pick (pool, block_prefix, used, ret_subnet, error))
    return FALSE;
  g_hash_table_add (v->names, g_strdup (name));
  g_hash_table_replace (v->subnets, g_strdup (name), g_memdup2 (ret_subnet, sizeof *ret_subnet));
  *ret_name = g_steal_pointer (&name);
  return TRUE;
}

void
netview_created (NetView *v, const char *project, const char *name, const NetpoolCidr *subnet)
{
  g_hash_table_add (v->names, g_strdup (name));
  g_hash_table_replace (v->subnets, g_strdup (name), g_memdup2 (subnet, sizeof *subnet));
  g_hash_table_replace (v->mine, g_strdup (project), g_strdup (name));
}

void
netview_create_failed (NetView *v, const char *name, const NetpoolCidr *subnet, gboolean subnet_taken,
                       gboolean name_taken)
{
  g_hash_table_remove (v->subnets, name);
  if (subnet_taken)
    g_array_append_val (v->other_used, *subnet);
  if (!name_taken)
    g_hash_table_remove (v->names, name);
}

void
netview_name_taken (NetView *v, const char *name)
{
  g_hash_table_add (v->names, g_strdup (name));
}

gboolean
netview_knows (NetView *v, const char *name)
{
  return g_hash_table_contains (v->names, name) && g_hash_table_contains (v->subnets, name);
}

void
netview_learn (NetView *v, JsonObject *network)
{
  const char *name = cara_json_object_string (network, "Name");
  NetpoolCidr c;
  if (name == NULL)
    return;
  g_hash_table_add (v->names, g_strdup (name));
  if (network_subnet (network, &c))
    g_hash_table_replace (v->subnets, g_strdup (name), g_memdup2 (&c, sizeof c));
}

void
netview_removed (NetView *v, const char *name)
{
  GHashTableIter it;
  gpointer k, val;

  g_hash_table_remove (v->names, name);
  g_hash_table_remove (v->subnets, name);
  g_hash_table_iter_init (&it, v->mine);
  while (g_hash_table_iter_next (&it, &k, &val))
    if (g_strcmp0 (val, name) == 0)
      g_hash_table_iter_remove (&it);
}

void
netview_adopt (NetView *v, const char *project, const char *name)
{
  g_hash_table_add (v->names, g_strdup (name));
  g_hash_table_replace (v->mine, g_strdup (project), g_strdup (name));
  g_hash_table_remove (v->duplicates, project);
}

void
netview_forget_project (NetView *v, const char *project)
{
  g_autofree char *name = g_strdup (g_hash_table_lookup (v->mine, project));
  if (name != NULL)
    netview_removed (v, name);
  g_hash_table_remove (v->duplicates, project);
}
