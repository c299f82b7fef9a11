# SPDX-License-Identifier: Apache-2.0
"""A Debian 12 root filesystem with systemd as PID 1, as a cached Docker image.

Built once with debootstrap (about a minute) and imported as
cara-e2e/debian-systemd:<hash of this recipe>, so later runs start in a second.  Also runnable on
its own:  python3 tests/e2e/systemd_image.py [--dev]   (prints the image name; --dev adds what
scripts/dev-cluster installs on a fresh machine)."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

# What the installed project needs at run time (check with ldd on the binaries), plus systemd,
# the system bus, and the PostgreSQL server binaries for cara-server's private database.
PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "libpam-systemd",
    "postgresql-15",
    "libglib2.0-0", "libjson-glib-1.0-0", "libyaml-0-2", "libmicrohttpd12",
    "libcurl3-gnutls", "libpq5", "libsystemd0",
    "procps", "iproute2", "less",
]

# Bump when the steps below change, so the cached image is rebuilt.
RECIPE_VERSION = "1"

REPO = "cara-e2e/debian-systemd"


def host_mirror():
    """The Debian mirror the host's apt uses (the only one reachable here)."""
    for path in ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]:
        try:
            text = open(path).read()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
            if line.startswith("deb ") and "security" not in line and "debian" in line:
                parts = [p for p in line.split() if p.startswith("http")]
                if parts:
                    return parts[0]
    return "http://deb.debian.org/debian"


# What scripts/dev-cluster would apt-get on a fresh machine (its test then needs no network).
DEV_PACKAGES = [
    "meson", "ninja-build", "gcc", "pkg-config", "gettext", "libglib2.0-dev", "libjson-glib-dev",
    "libyaml-dev", "libmicrohttpd-dev", "libcurl4-gnutls-dev", "libpq-dev", "libsystemd-dev",
    "docker.io", "curl", "sudo", "busybox-static",
]


def image_tag(packages=PACKAGES):
    h = hashlib.sha256((RECIPE_VERSION + "\n" + "\n".join(sorted(packages))).encode())
    return f"{REPO}:{h.hexdigest()[:12]}"


def image_exists(tag):
    return subprocess.run(["docker", "image", "inspect", tag], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def _chroot(root, *cmd):
    subprocess.run(["chroot", root, *cmd], check=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                            "LANG": "C"})


def build(tag, packages=PACKAGES, log=sys.stderr):
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    tmp = tempfile.mkdtemp(prefix="cara-e2e-rootfs-", dir="/var/tmp")
    root = os.path.join(tmp, "rootfs")
    try:
        mirror = host_mirror()
        print(f"e2e: debootstrap bookworm from {mirror} into {root} ...", file=log, flush=True)
        r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
                            "bookworm", root, mirror], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("debootstrap failed:\n" + r.stdout[-4000:])
        # postgresql-common made a cluster 15/main that would start at boot and take port 5432 on
        # the host network: the server runs its own private instance instead.
        _chroot(root, "pg_dropcluster", "15", "main")
        # Units that make no sense in a container or would slow the boot.
        for unit in ["systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                     "e2scrub_all.timer", "fstrim.timer", "getty@tty1.service",
                     "systemd-networkd.service", "systemd-resolved.service"]:
            subprocess.run(["systemctl", "--root", root, "mask", unit], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        for d in ["var/cache/apt/archives", "var/lib/apt/lists"]:
            p = os.path.join(root, d)
            for name in os.listdir(p):
                f = os.path.join(p, name)
                if os.path.isfile(f):
                    os.unlink(f)
        with open(os.path.join(root, "etc/hostname"), "w") as f:
            f.write("cara-e2e\n")
        print(f"e2e: importing {tag} ...", file=log, flush=True)
        tar = subprocess.Popen(["tar", "-C", root, "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", 'CMD ["/sbin/init"]', "-", tag],
                       stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the root filesystem failed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_image(packages=PACKAGES, log=sys.stderr):
    """Returns the image name, building it when missing (race-safe across parallel runs)."""
    tag = image_tag(packages)
    if image_exists(tag):
        return tag
    os.makedirs("/var/tmp", exist_ok=True)
    with open("/var/tmp/cara-e2e-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not image_exists(tag):
            build(tag, packages, log)
    return tag


if __name__ == "__main__":
    print(ensure_image(PACKAGES + DEV_PACKAGES if "--dev" in sys.argv else PACKAGES))
