/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cara-quantity.h"
#include "sysinfo.h"

/* Kept back for the system and the agent itself (as the Go sysinfo branch does). */
#define RESERVED_CPU_MILLI 500
#define RESERVED_MEMORY_BYTES (512 * 1024 * 1024LL)

static gint64
mem_total_bytes (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
    return 0;
  const char *m = strstr (text, "MemTotal:");
  long long kb = 0;
  if (m == NULL || sscanf (m, "MemTotal: %lld kB", &kb) != 1)
    return 0;
  return kb * 1024;
}

static char *
os_pretty_name (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/etc/os-release", &text, NULL, NULL)
      && !g_file_get_contents ("/usr/lib/os-release", &text, NULL, NULL))
    return g_strdup ("Linux");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, "PRETTY_NAME="))
      {
        g_autofree char *v = g_strdup (*l + strlen ("PRETTY_NAME="));
        char *u = g_shell_unquote (v, NULL);
        return u ? u : g_strdup (v);
      }
  return g_strdup ("Linux");
}

static void
put (GHashTable *t, const char *k, char *v)
{
  g_hash_table_replace (t, g_strdup (k), v);
}

void
sysinfo_fill (CaraHeartbeat *h, const char *disk_path)
{
  gint64 cpu = (gint64) sysconf (_SC_NPROCESSORS_ONLN) * 1000;
  gint64 mem = mem_total_bytes ();
  gint64 disk = 0, disk_free = 0;
  struct statvfs sv;
  if (statvfs (disk_path ? disk_path : "/", &sv) == 0 || statvfs ("/", &sv) == 0)
    {
      disk = (gint64) sv.f_blocks * (gint64) sv.f_frsize;
      disk_free = (gint64) sv.f_bavail * (gint64) sv.f_frsize;
    }

  if (h->capacity == NULL)
    h->capacity = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (h->allocatable == NULL)
    h->allocatable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* Whole MiB keep the quantities short ("7936Mi" rather than an exact byte count). */
  gint64 mib = 1024 * 1024;
  put (h->capacity, "cpu", cara_cpu_format (cpu));
  put (h->capacity, "memory", cara_bytes_format (mem / mib * mib));
  put (h->capacity, "disk", cara_bytes_format (disk / mib * mib));
  put (h->allocatable, "cpu", cara_cpu_format (MAX (cpu - RESERVED_CPU_MILLI, 0)));
  put (h->allocatable, "memory", cara_bytes_format (MAX (mem - RESERVED_MEMORY_BYTES, 0) / mib * mib));
  put (h->allocatable, "disk", cara_bytes_format (disk_free / mib * mib));

  struct utsname u;
  h->has_info = TRUE;
  g_free (h->info.kernel_version);
  h->info.kernel_version = g_strdup (uname (&u) == 0 ? u.release : "");
  g_free (h->info.os_image);
  h->info.os_image = os_pretty_name ();
  g_free (h->info.agent_version);
  h->info.agent_version = g_strdup (PACKAGE_VERSION);
}
