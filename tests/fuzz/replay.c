/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target over every file of its corpus directories, so the corpus is exercised in
 * builds without libFuzzer (gcc, sanitizer builds). */
#include "config.h"

#include <glib.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
main (int argc, char **argv)
{
  guint count = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
      const char *name;

      if (dir == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *data = NULL;
          gsize len;

          if (!g_file_get_contents (path, &data, &len, &error))
            {
              fprintf (stderr, "%s\n", error->message);
              return 1;
            }
          LLVMFuzzerTestOneInput ((const guint8 *) data, len);
          count++;
        }
    }
  printf ("replayed %u inputs\n", count);
  return count > 0 ? 0 : 1;
}
