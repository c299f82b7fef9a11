/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cara-server"
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cara-error.h"
#include "pg-private.h"

#define PG_USER "caravanserai"

struct _PgPrivate {
  GSubprocess *proc;
  char *url;
};

typedef struct {
  gboolean drop;
  uid_t uid;
  gid_t gid;
} Identity;

/* In the child, before exec: become the database user, and die with the server. */
static void
child_setup (gpointer user_data)
{
  Identity *id = user_data;
  if (id->drop)
    {
      if (setgroups (0, NULL) != 0 || setgid (id->gid) != 0 || setuid (id->uid) != 0)
        _exit (127);
    }
  /* After setuid: changing credentials clears the parent-death signal. */
  prctl (PR_SET_PDEATHSIG, SIGINT);
}

static gboolean
ensure_system_user (Identity *id, GError **error)
{
  struct passwd *pw = getpwnam (PG_USER);
  if (pw == NULL)
    {
      const char *argv[] = { "useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", "/usr/sbin/nologin", "--user-group", PG_USER, NULL };
      g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, error);
      if (p == NULL || !g_subprocess_wait_check (p, NULL, error))
        {
          g_prefix_error (error, "Cannot create the system user %s: ", PG_USER);
          return FALSE;
        }
      pw = getpwnam (PG_USER);
      if (pw == NULL)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "System user %s missing after useradd", PG_USER);
          return FALSE;
        }
    }
  id->drop = TRUE;
  id->uid = pw->pw_uid;
  id->gid = pw->pw_gid;
  return TRUE;
}

static gboolean
chown_tree (const char *path, uid_t uid, gid_t gid, GError **error)
{
  g_autofree char *owner = g_strdup_printf ("%u:%u", (unsigned) uid, (unsigned) gid);
  const char *argv[] = { "chown", "-R", owner, path, NULL };
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, error);
  return p != NULL && g_subprocess_wait_check (p, NULL, error);
}

static GSubprocessLauncher *
launcher_new (Identity *id, const char *log_path)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (l, child_setup, id, NULL);
  g_subprocess_launcher_set_stderr_file_path (l, log_path);
  g_subprocess_launcher_unsetenv (l, "PGDATA");
  /* PostgreSQL speaks sd_notify itself: it must not report READY for the server, nor trip the
   * watchdog bookkeeping of our unit. */
  g_subprocess_launcher_unsetenv (l, "NOTIFY_SOCKET");
  g_subprocess_launcher_unsetenv (l, "WATCHDOG_USEC");
  g_subprocess_launcher_unsetenv (l, "WATCHDOG_PID");
  g_subprocess_launcher_unsetenv (l, "LISTEN_FDS");
  g_subprocess_launcher_unsetenv (l, "LISTEN_PID");
  g_subprocess_launcher_unsetenv (l, "LISTEN_FDNAMES");
  g_subprocess_launcher_setenv (l, "LC_ALL", "C.UTF-8", TRUE);
  return l;
}

PgPrivate *
pg_private_start (const char *state_dir, GError **error)
{
  static Identity id; /* read by child_setup after fork */
  id.drop = FALSE;
  if (geteuid () == 0 && !ensure_system_user (&id, error))
    return NULL;
  const char *user = id.drop ? PG_USER : g_get_user_name ();

  g_autofree char *dir = g_build_filename (state_dir, "postgresql", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *log_path = g_build_filename (dir, "postgresql.log", NULL);
  g_autofree char *version_file = g_build_filename (data, "PG_VERSION", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0 || g_chmod (dir, 0700) != 0)
    {
      g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "Cannot create %s: %s", dir, g_strerror (errno));
      return NULL;
    }
  if (id.drop && !chown_tree (dir, id.uid, id.gid, error))
    return NULL;

  g_autoptr (GSubprocessLauncher) l = launcher_new (&id, log_path);
  if (!g_file_test (version_file, G_FILE_TEST_EXISTS))
    {
      g_message ("Initialising the private PostgreSQL database in %s", data);
      g_autofree char *initdb = g_build_filename (PG_BINDIR, "initdb", NULL);
      g_autofree char *user_arg = g_strdup_printf ("--username=%s", user);
      const char *argv[] = { initdb, "-D", data, user_arg, "--auth=trust", "--encoding=UTF8", "--no-sync", NULL };
      g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, error);
      if (p == NULL || !g_subprocess_wait_check (p, NULL, error))
        {
          g_prefix_error (error, "initdb failed (see %s): ", log_path);
          return NULL;
        }
    }

  /* Unix socket only, in our own 0700 directory: only this server's user (and root) reach it. */
  g_autofree char *postgres = g_build_filename (PG_BINDIR, "postgres", NULL);
  g_autofree char *sockdir = g_strdup_printf ("unix_socket_directories=%s", dir);
  /* jit=off: LLVM JIT needs writable+executable memory, which the hardened unit forbids. */
  const char *argv[] = { postgres, "-D", data, "-c", "listen_addresses=", "-c", sockdir, "-c", "port=5432",
                         "-c", "jit=off", NULL };
  g_autoptr (PgPrivate) pg = g_new0 (PgPrivate, 1);
  pg->proc = g_subprocess_launcher_spawnv (l, argv, error);
  if (pg->proc == NULL)
    return NULL;
  pg->url = g_strdup_printf ("host='%s' port=5432 dbname=postgres user='%s'", dir, user);

  /* Wait until it accepts connections. */
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      if (PQping (pg->url) == PQPING_OK)
        break;
      /* The identifier becomes NULL once the process exited. */
      if (g_subprocess_get_identifier (pg->proc) == NULL || g_get_monotonic_time () > deadline)
        {
          g_set_error (error, CARA_ERROR, CARA_ERROR_FAILED, "The private PostgreSQL did not start (see %s)", log_path);
          return NULL;
        }
      g_usleep (50 * 1000);
    }
  g_message ("Private PostgreSQL running in %s", dir);
  return g_steal_pointer (&pg);
}

const char *
pg_private_get_url (PgPrivate *pg)
{
  return pg->url;
}

void
pg_private_stop (PgPrivate *pg)
{
  if (pg == NULL)
    return;
  if (pg->proc != NULL)
    {
      g_subprocess_send_signal (pg->proc, SIGINT); /* fast shutdown */
      g_subprocess_wait (pg->proc, NULL, NULL);
      g_clear_object (&pg->proc);
    }
  g_free (pg->url);
  g_free (pg);
}
