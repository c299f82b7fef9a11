/* SPDX-License-Identifier: Apache-2.0 */
/* Compose value syntaxes: ports, durations, memory sizes, cpus, command strings, names. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "cara-quantity.h"
#include "compose.h"

void
ctl_compose_port_free (CtlComposePort *p)
{
  if (p == NULL)
    return;
  g_free (p->protocol);
  g_free (p->host_ip);
  g_free (p);
}

/* "80" or "9000-9002" */
static gboolean
parse_range (const char *s, gint64 *ret_lo, gint64 *ret_hi)
{
  g_auto(GStrv) parts = g_strsplit (s, "-", 0);
  guint64 lo, hi;

  if (g_strv_length (parts) == 1)
    {
      if (!g_ascii_string_to_unsigned (parts[0], 10, 1, 65535, &lo, NULL))
        return FALSE;
      *ret_lo = *ret_hi = (gint64) lo;
      return TRUE;
    }
  if (g_strv_length (parts) != 2 || !g_ascii_string_to_unsigned (parts[0], 10, 1, 65535, &lo, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, 1, 65535, &hi, NULL) || hi < lo)
    return FALSE;
  *ret_lo = (gint64) lo;
  *ret_hi = (gint64) hi;
  return TRUE;
}

static gboolean
bad_port (const char *s, char **ret_error)
{
  *ret_error = g_strdup_printf (_("invalid port \"%s\" (expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL])"), s);
  return FALSE;
}

gboolean
ctl_compose_parse_port (const char *s, GPtrArray *out, char **ret_error)
{
  g_autofree char *rest = g_strdup (s);
  g_autofree char *host_ip = NULL;
  const char *protocol = "tcp";
  char *slash, *colon;
  const char *published = NULL, *target;
  gint64 tlo, thi, plo = 0, phi = 0;

  slash = strrchr (rest, '/');
  if (slash != NULL)
    {
      *slash = '\0';
      protocol = slash + 1;
      if (strcmp (protocol, "tcp") != 0 && strcmp (protocol, "udp") != 0)
        {
          *ret_error = g_strdup_printf (_("protocol \"%s\" is not supported (tcp or udp)"), protocol);
          return FALSE;
        }
    }
  target = rest;
  if (rest[0] == '[')
    {
      /* [IPv6]:published:target */
      char *close = strchr (rest, ']');
      if (close == NULL || close[1] != ':')
        return bad_port (s, ret_error);
      host_ip = g_strndup (rest + 1, (gsize) (close - rest - 1));
      rest[0] = ' ';
      published = close + 2;
      colon = strchr (published, ':');
      if (colon == NULL)
        return bad_port (s, ret_error);
      *colon = '\0';
      target = colon + 1;
    }
  else if ((colon = strrchr (rest, ':')) != NULL)
    {
      char *first;
      *colon = '\0';
      target = colon + 1;
      first = strrchr (rest, ':');
      if (first != NULL)
        {
          *first = '\0';
          host_ip = g_strdup (rest);
          published = first + 1;
        }
      else
        published = rest;
    }
  if (host_ip != NULL && *host_ip == '\0')
    g_clear_pointer (&host_ip, g_free);
  if (host_ip != NULL)
    {
      g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (host_ip);
      if (addr == NULL)
        {
          *ret_error = g_strdup_printf (_("invalid host IP \"%s\" in \"%s\""), host_ip, s);
          return FALSE;
        }
    }
  if (!parse_range (target, &tlo, &thi))
    return bad_port (s, ret_error);
  if (published != NULL && *published != '\0')
    {
      if (!parse_range (published, &plo, &phi))
        return bad_port (s, ret_error);
      if (phi - plo != thi - tlo && !(plo != phi && tlo == thi))
        {
          *ret_error = g_strdup_printf (_("port ranges \"%s\" differ in length"), s);
          return FALSE;
        }
      if (plo != phi && tlo == thi)
        {
          *ret_error = g_strdup_printf (_("a host port range for one container port (\"%s\") is not supported: give one host port"), s);
          return FALSE;
        }
    }
  for (gint64 i = 0; i <= thi - tlo; i++)
    {
      CtlComposePort *p = g_new0 (CtlComposePort, 1);
      p->container_port = tlo + i;
      p->host_port = plo != 0 ? plo + i : 0;
      p->protocol = g_strdup (protocol);
      p->host_ip = g_strdup (host_ip);
      g_ptr_array_add (out, p);
    }
  return TRUE;
}

gboolean
ctl_compose_parse_seconds (const char *s, gint64 *ret_seconds, gboolean *ret_rounded, char **ret_error)
{
  gint64 usec;
  g_autoptr(GError) error = NULL;
  g_autofree char *with_unit = NULL;

  /* A bare number is seconds here (Compose reads "10" as 10s). */
  if (*s != '\0' && strspn (s, "0123456789.") == strlen (s))
    s = with_unit = g_strconcat (s, "s", NULL);
  if (!cara_duration_parse (s, &usec, &error) || usec < 0)
    {
      *ret_error = g_strdup_printf (_("invalid duration \"%s\" (for example 30s, 1m30s, 500ms)"), s);
      return FALSE;
    }
  *ret_seconds = (usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  *ret_rounded = usec % G_USEC_PER_SEC != 0;
  return TRUE;
}

static char *
bad_size (const char *s, char **ret_error)
{
  *ret_error = g_strdup_printf (_("invalid size \"%s\" (for example 512m or 1g)"), s);
  return NULL;
}

char *
ctl_compose_memory (JsonNode *v, char **ret_error)
{
  g_autofree char *s = NULL;
  char *end;
  double num;
  gint64 mult = 1;

  if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64)
    s = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v));
  else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
    s = g_ascii_strdown (json_node_get_string (v), -1);
  else
    {
      *ret_error = g_strdup (_("must be a size such as 512m or 1g"));
      return NULL;
    }
  g_strstrip (s);
  num = g_ascii_strtod (s, &end);
  if (end == s || !isfinite (num) || num <= 0)
    return bad_size (s, ret_error);
  if (g_str_equal (end, "") || g_str_equal (end, "b"))
    mult = 1;
  else if (g_str_equal (end, "k") || g_str_equal (end, "kb"))
    mult = 1024;
  else if (g_str_equal (end, "m") || g_str_equal (end, "mb"))
    mult = 1024 * 1024;
  else if (g_str_equal (end, "g") || g_str_equal (end, "gb"))
    mult = 1024 * 1024 * 1024;
  else
    return bad_size (s, ret_error);
  if (num * (double) mult > 1e18)
    return bad_size (s, ret_error);
  return cara_bytes_format ((gint64) ceil (num * (double) mult));
}

char *
ctl_compose_cpus (JsonNode *v, char **ret_error)
{
  double cpus;
  gint64 milli;

  if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64)
    cpus = (double) json_node_get_int (v);
  else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_DOUBLE)
    cpus = json_node_get_double (v);
  else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (v);
      char *end;
      cpus = g_ascii_strtod (s, &end);
      if (end == s || *end != '\0')
        cpus = -1;
    }
  else
    cpus = -1;
  if (!isfinite (cpus) || cpus <= 0 || cpus > 1e6)
    {
      *ret_error = g_strdup (_("must be a number of CPUs greater than 0, such as 0.5 or 2"));
      return NULL;
    }
  milli = (gint64) ceil (cpus * 1000 - 1e-9);
  return cara_cpu_format (milli);
}

char **
ctl_compose_argv (JsonNode *v, char **ret_error)
{
  if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
    {
      char **argv = NULL;
      g_autoptr(GError) error = NULL;
      const char *s = json_node_get_string (v);

      if (*s == '\0')
        return g_new0 (char *, 1);
      if (!g_shell_parse_argv (s, NULL, &argv, &error))
        {
          *ret_error = g_strdup_printf (_("cannot split \"%s\" as a shell would: %s"), s, error->message);
          return NULL;
        }
      return argv;
    }
  if (JSON_NODE_HOLDS_ARRAY (v))
    {
      JsonArray *a = json_node_get_array (v);
      g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (e))
            {
              *ret_error = g_strdup_printf (_("item %u must be a string"), i);
              return NULL;
            }
          if (json_node_get_value_type (e) == G_TYPE_STRING)
            g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
          else if (json_node_get_value_type (e) == G_TYPE_INT64)
            g_ptr_array_add (out, g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (e)));
          else if (json_node_get_value_type (e) == G_TYPE_BOOLEAN)
            g_ptr_array_add (out, g_strdup (json_node_get_boolean (e) ? "true" : "false"));
          else
            {
              char buf[G_ASCII_DTOSTR_BUF_SIZE];
              g_ptr_array_add (out, g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (e))));
            }
        }
      g_ptr_array_add (out, NULL);
      return (char **) g_ptr_array_steal (out, NULL);
    }
  *ret_error = g_strdup (_("must be a string or a list of strings"));
  return NULL;
}

char *
ctl_compose_normalize_name (const char *s)
{
  g_autofree char *low = g_ascii_strdown (s, -1);
  GString *out = g_string_new (NULL);
  gsize start = 0;

  for (char *p = low; *p != '\0'; p++)
    g_string_append_c (out, (g_ascii_isalnum (*p) && !(*p & 0x80)) ? *p : '-');
  while (start < out->len && out->str[start] == '-')
    start++;
  g_string_erase (out, 0, (gssize) start);
  if (out->len > 63)
    g_string_truncate (out, 63);
  while (out->len > 0 && out->str[out->len - 1] == '-')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}
