# SPDX-License-Identifier: Apache-2.0
"""The smaller things a new user hits with caractrl, against a real cara-server on a private
PostgreSQL: one clear message for a missing object; -o json|yaml for status and describe, refused
for logs; drain --evict on the only node keeps its projects and says so; after an eviction and a
new Running report, CONDITIONS shows the newest condition (not Scheduled); describe node shows the
Ready condition's last heartbeat; delete --wait shows a progress line on a terminal only; help is
wrapped to the terminal's width (80 columns when not on one)."""

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, Ctl, check, project_yaml  # noqa: E402
from cara_server import CaraServer, postgres, wait_until  # noqa: E402


def patch_status(srv, name, phase, reason=None, services=None):
    body = {"phase": phase}
    if reason:
        body["reason"] = reason
    if services is not None:
        body["services"] = services
    status, out = srv.json("PATCH", "/api/v1/projects/%s/status" % name, body)
    assert status == 204, (status, out)


def add_ready_node(srv, name):
    st, _ = srv.json("POST", "/api/v1/nodes", {"apiVersion": "caravanserai/v1", "kind": "Node",
                                               "metadata": {"name": name}})
    check(st in (200, 201), "node created", st)
    heartbeat(srv, name)
    wait_until(lambda: srv.json("GET", "/api/v1/nodes/" + name)[1]["status"]["state"] == "Ready",
               what=name + " Ready")


def heartbeat(srv, name):
    st, _ = srv.json("POST", "/api/v1/nodes/%s/heartbeat" % name, {"state": "Ready"})
    check(st == 204, "heartbeat", st)


def project(srv, name):
    return srv.json("GET", "/api/v1/projects/" + name)[1]


def run_on_tty(ctl, args, columns=60, until=None, timeout=60):
    """caractrl with stdout on a pseudo-terminal of @columns; returns (rc, output).  @until(text)
    is called with the output so far while it runs (for a test to act once a line shows)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = dict(ctl.env, TERM="xterm")
    p = subprocess.Popen([CTL] + list(args), stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                         env=env)
    os.close(slave)
    out = b""
    acted = until is None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the other side is closed
                    data = b""
                if not data and p.poll() is not None:
                    break
                out += data
            elif p.poll() is not None:
                break
            if not acted and until(out.decode(errors="replace")):
                acted = True
        else:
            raise AssertionError("caractrl %s did not finish: %r" % (" ".join(args), out))
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        p.stderr.close()
    return rc, out.decode(errors="replace")


def test_not_found(ctl):
    for args, message in ((["get", "project", "nosuch"], 'project "nosuch" not found'),
                          (["describe", "project", "nosuch"], 'project "nosuch" not found'),
                          (["status", "nosuch"], 'project "nosuch" not found'),
                          (["delete", "project", "nosuch"], 'project "nosuch" not found'),
                          (["describe", "node", "nosuch"], 'node "nosuch" not found'),
                          (["drain", "node", "nosuch"], 'node "nosuch" not found'),
                          (["uncordon", "node/nosuch"], 'node "nosuch" not found')):
        r = ctl.expect(1, *args)
        check(r.err == "caractrl: %s\n" % message, "one clear not-found line", r)
    r = ctl.expect(1, "get", "projects", "web", "nosuch")
    check(r.err == 'caractrl: project "nosuch" not found\n' and "web" in r.out, "several names", r)


def test_output_formats(ctl):
    r = ctl.ok("status", "web", "-o", "json")
    check(r.json()["kind"] == "Project" and r.json()["metadata"]["name"] == "web"
          and r.json()["status"]["phase"] == "Running", "status -o json is the project", r)
    r = ctl.ok("status", "project", "web", "-o", "yaml")
    check("kind: Project\n" in r.out and "name: web\n" in r.out and "Active:" not in r.out, "status -o yaml", r)
    r = ctl.ok("status", "node/node-a", "-o", "json")
    check(r.json()["kind"] == "Node" and r.json()["metadata"]["name"] == "node-a", "status node -o json", r)
    r = ctl.ok("status", "-o", "json")
    o = r.json()
    check(o["nodes"]["total"] == 1 and o["nodes"]["Ready"] == 1 and o["projects"]["Running"] == 1
          and o["failed"] == [] and o["server"] == ctl.env["CARA_SERVER"], "status -o json for the cluster", r)
    r = ctl.ok("describe", "project", "web", "-o", "json")
    check(r.json()["kind"] == "Project" and "Resource Version:" not in r.out, "describe -o json", r)
    r = ctl.ok("describe", "node", "node-a", "-o", "yaml")
    check("kind: Node\n" in r.out and "name: node-a\n" in r.out, "describe -o yaml", r)
    r = ctl.ok("describe", "projects", "web", "other", "-o", "json")
    check(r.json()["kind"] == "ProjectList" and [i["metadata"]["name"] for i in r.json()["items"]] == ["web", "other"],
          "describe -o json with several names: a list", r)
    r = ctl.ok("describe", "project", "web", "-o", "name")
    check(r.out == "project/web\n", "describe -o name", r)
    for fmt in ("json", "yaml", "name", "wide"):
        r = ctl.expect(2, "logs", "web", "-o", fmt)
        check(r.out == "" and ("logs does not support -o %s" % fmt) in r.err, "logs refuses -o " + fmt, r)


def test_describe_node_heartbeat(ctl, srv):
    heartbeat(srv, "node-a")
    r = ctl.ok("describe", "node", "node-a")
    rows = [l.split() for l in r.out.splitlines() if l.strip().startswith("Ready ")]
    check(len(rows) == 1 and rows[0][1] == "True" and rows[0][2] != "<none>", "Ready row has a last heartbeat", r)
    st, n = srv.json("GET", "/api/v1/nodes/node-a")
    ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"][0]
    check(ready["lastHeartbeatTime"] == n["status"]["lastHeartbeat"], "the last heartbeat, exactly", n)


def test_evict_only_node(ctl, srv):
    r = ctl.ok("drain", "node", "node-a", "--evict")
    check(r.out.startswith("node/node-a drained; not every project was moved: ") and "web" in r.out
          and "No other node can take" in r.out, "drain --evict on the only node says the projects stay", r)
    p = project(srv, "web")
    check(p["status"]["phase"] == "Running" and p["status"]["nodeRef"] == "node-a", "web kept where it runs", p)
    r = ctl.ok("describe", "node", "node-a")
    check("NoOtherNode" in r.out, "the node's Evicted condition says so", r)
    heartbeat(srv, "node-a")
    ctl.ok("uncordon", "node", "node-a")
    st, n = srv.json("GET", "/api/v1/nodes/node-a")
    check(n["status"]["state"] == "Ready" and all(c["type"] != "Evicted" for c in n["status"]["conditions"]),
          "uncordon clears the Evicted condition", n)

    # With somewhere to go, the project moves; once it runs there, CONDITIONS is its newest condition.
    add_ready_node(srv, "node-b")
    r = ctl.ok("drain", "node", "node-a", "--evict")
    check(r.out == "node/node-a drained; its projects are being moved to other nodes\n", "evicted", r)
    wait_until(lambda: project(srv, "web")["status"].get("nodeRef") == "node-b", what="web on node-b")
    patch_status(srv, "web", "Running", reason="ContainersRunning")
    r = ctl.ok("get", "project", "web", "--no-legend")
    row = r.out.split()
    check(row[1] == "Running" and row[2] == "node-b" and row[3] == "ContainersRunning",
          "CONDITIONS after the move shows ContainersRunning, not Scheduled", r)
    heartbeat(srv, "node-a")
    ctl.ok("uncordon", "node", "node-a")


def test_delete_wait_progress(ctl, srv):
    def terminate_when_shown(text):
        if "waiting for project/web to be deleted (Terminating)..." in text:
            patch_status(srv, "web", "Terminated")
            return True
        return False

    rc, out = run_on_tty(ctl, ["delete", "project", "web", "--wait"], until=terminate_when_shown)
    check(rc == 0, "delete --wait on a terminal", out)
    check("waiting for project/web to be deleted (Terminating)..." in out, "progress line", out)
    # the progress line is erased: the last thing on the screen is the result
    check(out.rstrip("\r\n").split("\r\x1b[K")[-1].strip() == 'project "web" deleted', "progress erased", repr(out))


def test_help_wrapped(ctl):
    for args in (["help", "apply"], ["help"], ["status", "--help"], ["help", "status"]):
        r = ctl.ok(*args)
        long = [l for l in r.out.splitlines() if len(l) > 80]
        check(not long, "help wrapped to 80 columns when not on a terminal", long, r)
    rc, out = run_on_tty(ctl, ["help", "apply"], columns=60)
    long = [l for l in out.replace("\r", "").splitlines() if len(l) > 60]
    check(rc == 0 and not long and "Reads every document" in out, "help wrapped to the terminal's 60 columns",
          long, out)


def main():
    with Ctl("http://127.0.0.1:1") as ctl:
        test_help_wrapped(ctl)
    with postgres() as pg, CaraServer(database_url=pg.url) as srv, Ctl(srv.url) as ctl:
        add_ready_node(srv, "node-a")
        # web runs on node-a; other fits no node (it stays Pending)
        ctl.ok("apply", "-f", "-", input=project_yaml("web") + "---\n"
               + project_yaml("other", extra="  nodeSelector:\n    zone: nowhere\n"))
        wait_until(lambda: project(srv, "web")["status"].get("nodeRef") == "node-a", what="web scheduled")
        patch_status(srv, "web", "Running", reason="ContainersRunning",
                     services=[{"name": "app", "containerId": "0123456789abcdef", "state": "running"}])
        test_not_found(ctl)
        test_output_formats(ctl)
        test_describe_node_heartbeat(ctl, srv)
        test_evict_only_node(ctl, srv)
        test_delete_wait_progress(ctl, srv)
    print("ok")


if __name__ == "__main__":
    main()
