# SPDX-License-Identifier: Apache-2.0
"""cara-server without DATABASE_URL (SPEC §8): it initialises a private PostgreSQL in
<data dir>/postgresql on first start, listening only on a unix socket there, stops it with itself,
and finds its data again on the next start.  Started as root, PostgreSQL runs as the system user
"caravanserai"; started as an ordinary user, as that user."""

import os
import pwd
import shutil
import tempfile

from cara_server import CaraServer, skip, wait_until


def postgres_processes(data_dir):
    """(pid, uid) of processes whose command line mentions @data_dir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().split(b"\0")
            if cmd and cmd[0].endswith(b"postgres") and data_dir.encode() in cmd:
                found.append((int(pid), os.stat("/proc/%s" % pid).st_uid))
        except OSError:
            pass
    return found


def run(user, expect_user):
    tmp = tempfile.mkdtemp(prefix="cara-private-")
    os.chmod(tmp, 0o755)
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    if user:
        pw = pwd.getpwnam(user)
        shutil.chown(state, pw.pw_uid, pw.pw_gid)
    data = os.path.join(state, "postgresql", "data")
    body = {"metadata": {"name": "kept"}, "spec": {"services": [{"name": "web", "image": "busybox"}]}}
    try:
        with CaraServer(data_dir=state, user=user) as srv:
            assert os.path.exists(os.path.join(data, "PG_VERSION")), "no cluster initialised"
            assert os.path.exists(os.path.join(state, "postgresql", ".s.PGSQL.5432")), "no unix socket"
            with open(os.path.join(data, "postmaster.pid")) as f:
                lines = f.read().split("\n")
            assert lines[5].strip() == "", "PostgreSQL listens on TCP: %r" % lines[5]  # listen_addresses
            procs = postgres_processes(data)
            assert procs, "postgres not running"
            uid = pwd.getpwnam(expect_user).pw_uid
            assert all(u == uid for _, u in procs), (procs, expect_user)
            assert oct(os.stat(os.path.join(state, "postgresql")).st_mode & 0o777) == "0o700"
            assert srv.json("POST", "/api/v1/projects", body)[0] == 201
            assert srv.stop() == 0
            wait_until(lambda: not postgres_processes(data), timeout=30, what="the private PostgreSQL to stop")
        # second start: same data, no initdb
        with CaraServer(data_dir=state, user=user) as srv:
            status, d = srv.json("GET", "/api/v1/projects/kept")
            assert status == 200, (status, d)
            assert "Initialising" not in srv.log()
        wait_until(lambda: not postgres_processes(data), timeout=30, what="the private PostgreSQL to stop")
        print("ok   private PostgreSQL started by %s runs as %s" % (user or pwd.getpwuid(os.geteuid()).pw_name,
                                                                    expect_user))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.access("/usr/lib/postgresql/15/bin/postgres", os.X_OK):
        skip("PostgreSQL binaries not installed")
    if os.geteuid() == 0:
        run(None, "caravanserai")
        run("nobody", "nobody")
    else:
        run(None, pwd.getpwuid(os.geteuid()).pw_name)


if __name__ == "__main__":
    main()
