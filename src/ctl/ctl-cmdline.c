/* SPDX-License-Identifier: Apache-2.0 */
/* The command line caractrl apply records as a revision's change cause (SPEC §13), without the
 * value of --token (a secret has no place in an annotation anyone who may read may see). */
#include "config.h"

#include <string.h>

#include "ctl.h"

char *
ctl_command_line (int argc, char **argv)
{
  g_autoptr (GString) s = g_string_new ("caractrl");
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (g_str_equal (a, "--token"))
        {
          g_string_append (s, " --token ***");
          i++;
          continue;
        }
      if (g_str_has_prefix (a, "--token="))
        {
          g_string_append (s, " --token=***");
          continue;
        }
      g_autofree char *q = strpbrk (a, " \t\n'\"\\$`*?[]{}()<>|&;#~") || *a == '\0' ? g_shell_quote (a) : g_strdup (a);
      g_string_append_c (s, ' ');
      g_string_append (s, q);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}
