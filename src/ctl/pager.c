/* SPDX-License-Identifier: Apache-2.0 */
/* The pager, as systemctl does it: only when stdout is a terminal, $SYSTEMD_PAGER, then $PAGER,
 * then `less -FRSXMK`; an empty value or "cat" means none. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

void
ctl_pager_open (Ctl *ctl)
{
  if (ctl->no_pager || !ctl->stdout_tty || ctl->pager_pid > 0)
    return;
  const char *pager = g_getenv ("SYSTEMD_PAGER");
  if (pager == NULL)
    pager = g_getenv ("PAGER");
  if (pager == NULL)
    pager = "less";
  g_autofree char *stripped = g_strstrip (g_strdup (pager));
  if (*stripped == '\0' || g_str_equal (stripped, "cat"))
    return;

  g_auto (GStrv) envp = g_get_environ ();
  /* less: quit if one screen, raw colours, chop long lines, keep the screen, quit on ^C. */
  if (g_environ_getenv (envp, "LESS") == NULL)
    envp = g_environ_setenv (envp, "LESS", "FRSXMK", TRUE);
  const char *argv[] = { "/bin/sh", "-c", stripped, NULL };
  GPid pid = 0;
  int in_fd = -1;
  fflush (stdout);
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                 &in_fd, NULL, NULL, NULL))
    return;
  if (dup2 (in_fd, STDOUT_FILENO) < 0)
    {
      close (in_fd);
      return;
    }
  close (in_fd);
  ctl->pager_pid = pid;
}

void
ctl_pager_close (Ctl *ctl)
{
  if (ctl->pager_pid <= 0)
    return;
  fflush (stdout);
  /* EOF for the pager, then let the user read until they quit it. */
  fclose (stdout);
  while (waitpid (ctl->pager_pid, NULL, 0) < 0 && errno == EINTR)
    ;
  ctl->pager_pid = 0;
}

const char *
ctl_color (Ctl *ctl, const char *ansi)
{
  return ctl->color ? ansi : "";
}
