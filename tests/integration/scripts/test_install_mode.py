# SPDX-License-Identifier: Apache-2.0
"""server.conf and agent.conf may hold tokens: `meson install` puts them in place 0640, group
caravanserai when that group exists (the daemons' group; 0644 before), and the Debian packages do
the same through dpkg-statoverride."""

import grp
import os
import shutil
import stat
import subprocess
import tempfile

from cara_fixtures import skip


def main():
    build = os.environ.get("CARA_BUILD_DIR")
    src = os.environ.get("CARA_SOURCE_DIR")
    if not build or shutil.which("meson") is None:
        skip("needs CARA_BUILD_DIR and meson")
    dest = tempfile.mkdtemp(prefix="cara-install-")
    try:
        subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild", "--quiet"],
                       check=True, capture_output=True, text=True, timeout=300)
        found = []
        for root, _, files in os.walk(dest):
            for f in files:
                if f in ("server.conf", "agent.conf") and root.endswith("caravanserai"):
                    found.append(os.path.join(root, f))
        assert len(found) == 2, found
        try:
            gid = grp.getgrnam("caravanserai").gr_gid
        except KeyError:
            gid = None
        for f in found:
            st = os.stat(f)
            assert stat.S_IMODE(st.st_mode) == 0o640, (f, oct(st.st_mode))
            if gid is not None and os.geteuid() == 0:
                assert st.st_gid == gid and st.st_uid == 0, (f, st.st_uid, st.st_gid)
        for pkg, conf in [("cara-server", "server.conf"), ("cara-agent", "agent.conf")]:
            with open(os.path.join(src, "debian", pkg + ".postinst")) as fh:
                text = fh.read()
            assert "dpkg-statoverride --update --add root caravanserai 0640 /etc/caravanserai/" + conf in text, pkg
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    print("ok   configuration files installed 0640 root:caravanserai")


if __name__ == "__main__":
    main()
