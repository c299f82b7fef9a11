# SPDX-License-Identifier: Apache-2.0
"""Every caractrl verb against a real cara-server on a private PostgreSQL: apply (multi-document
file, directory, stdin, created/configured/unchanged, stale resourceVersion, --wait Running and
Failed), get (tables, wide, json, yaml, name, --no-legend, aliases, kind/name, --phase, --node,
-w), describe, status, delete (--force, --wait, -f), drain/uncordon, version, -q."""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, Ctl, check, project_yaml  # noqa: E402
from cara_server import CaraServer, postgres, wait_until  # noqa: E402


def patch_status(srv, name, phase, reason=None, message=None, services=None):
    body = {"phase": phase}
    if reason:
        body["reason"] = reason
    if message:
        body["message"] = message
    if services is not None:
        body["services"] = services
    status, out = srv.json("PATCH", "/api/v1/projects/%s/status" % name, body)
    assert status == 204, (status, out)


def test_apply(ctl, srv):
    multi = ctl.file("m/multi.yaml", project_yaml("alpha") + "---\n" + project_yaml("beta", labels={"tier": "db"})
                     + "---\napiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: node-a\n"
                     "  labels:\n    zone: one\nspec:\n  hostname: node-a\n")
    r = ctl.ok("apply", "-f", multi)
    check(r.out.splitlines() == ["project/alpha created", "project/beta created", "node/node-a created"],
          "every document applied, in order", r)
    r = ctl.ok("apply", "-f", multi)
    check(r.out.splitlines() == ["project/alpha unchanged", "project/beta unchanged", "node/node-a unchanged"],
          "re-apply is unchanged", r)
    # one change: only that object is configured
    with open(multi) as f:
        text = f.read()
    text = text.replace("image: busybox:latest", "image: busybox:1", 1)
    ctl.file("m/multi.yaml", text)
    r = ctl.ok("apply", "-f", multi)
    check(r.out.splitlines() == ["project/alpha configured", "project/beta unchanged", "node/node-a unchanged"],
          "changed project configured", r)
    st, p = srv.json("GET", "/api/v1/projects/alpha")
    check(p["spec"]["services"][0]["image"] == "busybox:1", "PUT stored the new image", p)

    # a directory (sorted, every *.yaml/*.json) and stdin; JSON works too
    ctl.file("d/1-gamma.yaml", project_yaml("gamma"))
    ctl.file("d/2-delta.json", json.dumps({"apiVersion": "caravanserai/v1", "kind": "Project",
                                           "metadata": {"name": "delta"},
                                           "spec": {"services": [{"name": "app", "image": "busybox"}]}}))
    ctl.file("d/notes.txt", "not a manifest")
    r = ctl.ok("apply", "-f", os.path.join(ctl.home, "d"))
    check(r.out.splitlines() == ["project/gamma created", "project/delta created"], "directory", r)
    r = ctl.ok("apply", "-f", "-", input=project_yaml("epsilon"))
    check(r.out == "project/epsilon created\n", "stdin", r)
    # repeated -f, and -o name / -o json / -q
    r = ctl.ok("apply", "-f", os.path.join(ctl.home, "d"), "-f", "-", "-o", "name", input=project_yaml("epsilon"))
    check(r.out.splitlines() == ["project/gamma", "project/delta", "project/epsilon"], "-o name", r)
    r = ctl.ok("apply", "-f", "-", "-o", "json", input=project_yaml("epsilon"))
    check(r.json()["metadata"]["name"] == "epsilon", "-o json prints the object", r)
    r = ctl.ok("apply", "-f", os.path.join(ctl.home, "d"), "-o", "yaml")
    check(r.out.count("kind: Project\n") == 2 and "\n---\n" in r.out, "-o yaml: one multi-document stream", r)
    r = ctl.ok("-q", "apply", "-f", "-", input=project_yaml("epsilon", image="busybox:2"))
    check(r.out == "", "-q prints nothing", r)

    # stale resourceVersion: the concurrent edit wins, ours gets 409 (exit 1), nothing lost
    st, cur = srv.json("GET", "/api/v1/projects/gamma")
    old_rv = cur["metadata"]["resourceVersion"]
    cur["spec"]["services"][0]["image"] = "busybox:concurrent"
    st, _ = srv.json("PUT", "/api/v1/projects/gamma", cur)
    check(st == 200, "concurrent PUT", st)
    stale = project_yaml("gamma", image="busybox:mine").replace("  name: gamma\n",
                                                                "  name: gamma\n  resourceVersion: \"%s\"\n" % old_rv)
    # the live spec changed since the last apply: refused with the field, exit 1
    r = ctl.expect(1, "apply", "-f", "-", input=stale)
    check("spec.services[0].image" in r.err and '"busybox:concurrent"' in r.err and "--force" in r.err,
          "a spec changed by someone else is not overwritten; the field is named", r)
    # --force skips that check; the stale resourceVersion still gets the server's 409
    r = ctl.expect(1, "apply", "--force", "-f", "-", input=stale)
    check("Conflict" in r.err and r.err.count("\n") == 1, "stale resourceVersion -> one Conflict line", r)
    st, cur = srv.json("GET", "/api/v1/projects/gamma")
    check(cur["spec"]["services"][0]["image"] == "busybox:concurrent", "the concurrent edit is kept", cur)

    # a server-side rejection is exit 2 as well (e.g. a Running project is fine, but dots are not names)
    r = ctl.expect(2, "apply", "-f", "-", input=project_yaml("has.dot"))
    check("metadata.name" in r.err, "project names with dots are rejected", r)


def test_apply_wait(ctl, srv):
    # Running: somebody (here: the test, standing in for the agent) reports Running
    def later(name, phase, **kw):
        def go():
            wait_until(lambda: srv.json("GET", "/api/v1/projects/" + name)[0] == 200, what=name)
            time.sleep(0.3)  # let caractrl print its progress line at least once
            patch_status(srv, name, phase, **kw)
        t = threading.Thread(target=go)
        t.start()
        return t

    t = later("waiter", "Running", reason="ContainersRunning")
    r = ctl.ok("apply", "-f", "-", "--wait", input=project_yaml("waiter"), timeout=60)
    t.join()
    lines = r.out.splitlines()
    check(lines[0] == "project/waiter created" and "Waiting for projects to be Running" in r.out
          and lines[-1].startswith("Waiting for projects to be Running (1/1)"), "--wait progress until Running", r)

    t = later("doomed", "Failed", reason="ImagePullFailed", message="no such image: nope:1")
    r = ctl.expect(1, "apply", "-f", "-", "--wait", input=project_yaml("doomed", image="nope:1"), timeout=60)
    t.join()
    check("project doomed failed: no such image: nope:1" in r.err, "--wait says why it failed", r)

    r = ctl.expect(1, "apply", "-f", "-", "--wait", "--timeout", "1s", input=project_yaml("slowpoke"), timeout=60)
    check("timed out" in r.err, "--wait --timeout", r)


def test_get(ctl, srv):
    # make one project Running on node-a, so the filters have something to tell apart
    st, _ = srv.json("POST", "/api/v1/nodes/node-a/heartbeat", {"state": "Ready", "network": {"ip": "10.1.2.3",
                                                                                               "agentPort": 9090}})
    check(st == 204, "heartbeat", st)
    patch_status(srv, "alpha", "Running", reason="ContainersRunning", message="all containers running",
                 services=[{"name": "app", "containerId": "0123456789abcdef0123", "state": "running",
                            "restartCount": 2, "health": "healthy"}])
    wait_until(lambda: srv.json("GET", "/api/v1/projects/alpha")[1]["status"].get("phase") == "Running")
    st, alpha = srv.json("GET", "/api/v1/projects/alpha")
    node_ref = alpha["status"].get("nodeRef", "")

    r = ctl.ok("get", "projects")
    lines = r.out.splitlines()
    check(lines[0].split() == ["NAME", "PHASE", "NODE", "CONDITIONS", "AGE"], "project table header", r)
    names = [l.split()[0] for l in lines[1:]]
    check(names == sorted(names) and "alpha" in names and "beta" in names, "rows sorted by name", r)
    row = [l for l in lines if l.startswith("alpha ")][0].split()
    check(row[1] == "Running" and row[3] == "ContainersRunning" and row[4].endswith("s"), "alpha row", r)
    # columns line up (tabwriter, padding 3)
    col = lines[0].index("PHASE")
    check(all(l[col - 3:col] == "   " and l[col] != " " for l in lines), "PHASE column aligned", r)

    r = ctl.ok("get", "nodes")
    check(r.out.splitlines()[0].split() == ["NAME", "STATE", "IP", "AGE"], "node table header", r)
    check(r.out.splitlines()[1].split()[:3] == ["node-a", "Ready", "10.1.2.3"], "node row", r)
    r = ctl.ok("get", "no", "-o", "wide")
    check(r.out.splitlines()[0].split() == ["NAME", "STATE", "IP", "AGE", "CPU", "MEMORY", "VERSION", "KERNEL"],
          "wide node header", r)
    r = ctl.ok("get", "proj", "beta", "-o", "wide")
    check(r.out.splitlines()[0].split()[-2:] == ["SERVICES", "IMAGES"] and "busybox:latest" in r.out, "wide", r)
    r = ctl.ok("--no-legend", "get", "project/alpha", "project/beta")
    check([l.split()[0] for l in r.out.splitlines()] == ["alpha", "beta"], "--no-legend, kind/name form", r)
    r = ctl.ok("get", "project", "alpha", "-o", "json")
    check(r.json()["kind"] == "Project" and r.json()["metadata"]["name"] == "alpha", "one object as json", r)
    r = ctl.ok("get", "projects", "-o", "json")
    check(r.json()["kind"] == "ProjectList" and len(r.json()["items"]) >= 5, "list as json", r)
    r = ctl.ok("get", "node", "node-a", "-o", "yaml")
    check("kind: Node\n" in r.out and "name: node-a" in r.out, "yaml", r)
    r = ctl.ok("get", "projects", "-o", "name", "--phase", "Running")
    check(r.out == "project/alpha\nproject/waiter\n", "--phase filter, -o name", r)
    r = ctl.ok("get", "projects", "-o", "name", "--phase", "Running", "--phase", "Failed")
    check(r.out.splitlines() == ["project/alpha", "project/doomed", "project/waiter"], "repeated --phase is OR", r)
    if node_ref:
        r = ctl.ok("get", "projects", "-o", "name", "--node", node_ref)
        check("project/alpha" in r.out, "--node filter", r)
    r = ctl.ok("get", "projects", "--node", "nowhere")
    check(r.out == "" and "No resources found." in r.err, "empty list", r)
    r = ctl.expect(1, "get", "project", "ghost")
    check(r.err == 'caractrl: project "ghost" not found\n', "missing -> not found, exit 1", r)
    r = ctl.expect(1, "get", "projects", "alpha", "ghost")
    check(r.out.splitlines()[1].startswith("alpha") and "ghost" in r.err, "found ones shown, missing reported", r)


def test_watch(ctl, srv):
    p = subprocess.Popen([CTL, "get", "projects", "-w"], env=ctl.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        header = p.stdout.readline()
        check(header.split() == ["NAME", "PHASE", "NODE", "CONDITIONS", "AGE"], "watch prints the table first", header)
        n_listed = len(srv.json("GET", "/api/v1/projects")[1]["items"])
        for _ in range(n_listed):
            p.stdout.readline()
        ctl.ok("apply", "-f", "-", input=project_yaml("watched"))
        # Rows of projects listed before may come first (the scheduler places them when node-a
        # turns Ready): the first row of the new one must be its Pending.
        line = p.stdout.readline()
        while line and not line.startswith("watched "):
            line = p.stdout.readline()
        check(line.split()[:2] == ["watched", "Pending"], "new project streamed", line)
        patch_status(srv, "watched", "Running", reason="ContainersRunning")
        # the scheduler may write first; read until the Running row shows
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if line.split()[:2] == ["watched", "Running"]:
                break
        else:
            raise AssertionError("Running not streamed")
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()


def test_watch_name(ctl, srv):
    p = subprocess.Popen([CTL, "get", "nodes", "-w", "-o", "name"], env=ctl.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        check(p.stdout.readline() == "node/node-a\n", "watch -o name lists first")
        srv.json("POST", "/api/v1/nodes", {"apiVersion": "caravanserai/v1", "kind": "Node",
                                           "metadata": {"name": "node-w"}})
        check(p.stdout.readline() == "node/node-w\n", "then streams changes")
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()
    srv.json("DELETE", "/api/v1/nodes/node-w")


def test_describe_status(ctl, srv):
    r = ctl.ok("describe", "project", "alpha")
    for needle in ("Name:", "alpha", "Kind:", "Project", "Resource Version:", "Spec:", "Services:", "- Name:",
                   "Image:", "busybox:1", "Status:", "Phase:", "Running", "Conditions:", "ContainersRunning",
                   "all containers running", "RESTARTS", "0123456789ab"):
        check(needle in r.out, "describe project lacks " + needle, r)
    lines = r.out.splitlines()
    col = lines[0].index("alpha")
    check(lines[1].index("Project") == col, "describe values aligned", r)
    r = ctl.ok("describe", "node", "node-a")
    for needle in ("Name:", "node-a", "Labels:", "zone=one", "Hostname:", "Network:", "10.1.2.3", "Agent Port:",
                   "9090", "Capacity:", "Projects:", "Conditions:"):
        check(needle in r.out, "describe node lacks " + needle, r)
    ctl.expect(1, "describe", "project", "ghost")

    r = ctl.ok("status", "project", "alpha")
    lines = r.out.splitlines()
    check(lines[0] == "● alpha - Project", "status bullet line", r)
    check(any(l.strip().startswith("Active: running since ") and l.rstrip().endswith("ago") for l in lines),
          "Active line", r)
    check(any("app" in l and "running" in l and "2 restarts" in l and "healthy" in l for l in lines),
          "service line", r)
    check(any("Phase/ContainersRunning: all containers running" in l for l in lines), "conditions as events", r)
    check("\x1b[" not in r.out, "no colour when not on a terminal", r)
    r = ctl.ok("status", "beta")
    check(r.out.startswith("● beta - Project") and "Active: " in r.out, "status NAME = project", r)
    r = ctl.ok("status", "node/node-a")
    check(r.out.startswith("● node-a - Node") and "Active: ready" in r.out and "Heartbeat:" in r.out, "node status", r)
    r = ctl.ok("status")
    check("Nodes: 1: 1 Ready" in r.out and "Projects: " in r.out and "3 Running" in r.out and "Failed: doomed" in r.out, "cluster summary", r)
    ctl.expect(1, "status", "ghost")
    # colour can be forced as for systemd, and NO_COLOR / --no-color win
    r = ctl.ok("status", "alpha", env={"SYSTEMD_COLORS": "1"})
    check("\x1b[0;1;32m●" in r.out, "green bullet for Running", r)
    r = ctl.ok("status", "alpha", env={"SYSTEMD_COLORS": "1", "NO_COLOR": "1"})
    check("\x1b[" not in r.out, "NO_COLOR", r)
    r = ctl.ok("status", "alpha", "--no-color", env={"SYSTEMD_COLORS": "1"})
    check("\x1b[" not in r.out, "--no-color", r)


def test_drain_delete(ctl, srv):
    r = ctl.ok("drain", "node", "node-a")
    check(r.out == "node/node-a drained\n", "drain", r)
    check(srv.json("GET", "/api/v1/nodes/node-a")[1]["status"]["state"] == "Draining", "Draining stored")
    r = ctl.ok("get", "nodes", "--no-legend")
    check(r.out.split()[1].startswith("Draining"), "Draining shown", r)
    srv.json("POST", "/api/v1/nodes/node-a/heartbeat", {"state": "Ready"})
    r = ctl.ok("uncordon", "node-a")
    check(r.out == "node/node-a uncordoned\n", "uncordon", r)
    wait_until(lambda: srv.json("GET", "/api/v1/nodes/node-a")[1]["status"]["state"] == "Ready", what="Ready")
    # node-a is the only node: its projects stay (test_ctl_details.py covers the moves)
    r = ctl.ok("drain", "node/node-a", "--evict")
    check(r.out.startswith("node/node-a drained; not every project was moved: "), "drain --evict", r)
    ctl.expect(1, "drain", "node", "ghost")

    # Pending: gone at once
    ctl.ok("apply", "-f", "-", input=project_yaml("pendy", extra="  nodeSelector:\n    zone: nowhere\n"))
    r = ctl.ok("delete", "project", "pendy")
    check(r.out == 'project "pendy" deleted\n', "delete Pending", r)
    check(srv.json("GET", "/api/v1/projects/pendy")[0] == 404, "pendy gone")
    # Running: Terminating until the agent says Terminated; --wait waits for that
    patch_status(srv, "gamma", "Running")
    p = subprocess.Popen([CTL, "delete", "proj", "gamma", "--wait"], env=ctl.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_until(lambda: srv.json("GET", "/api/v1/projects/gamma")[1]["status"]["phase"] == "Terminating",
               what="Terminating")
    check(p.poll() is None, "--wait is still waiting")
    patch_status(srv, "gamma", "Terminated")
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0 and out == 'project "gamma" deleted\n', "delete --wait", out, err)
    patch_status(srv, "delta", "Running")
    r = ctl.ok("delete", "project", "delta")
    check(r.out == 'project "delta" is being deleted\n', "202 -> being deleted", r)
    r = ctl.ok("delete", "project", "delta", "--force")
    check(r.out == 'project "delta" deleted\n', "--force", r)
    check(srv.json("GET", "/api/v1/projects/delta")[0] == 404, "delta gone")
    f = ctl.file("del.yaml", project_yaml("epsilon") + "---\n" + project_yaml("waiter"))
    r = ctl.ok("delete", "-f", f, "--force")
    check(r.out.splitlines() == ['project "epsilon" deleted', 'project "waiter" deleted'], "delete -f", r)
    r = ctl.expect(1, "delete", "project", "ghost")
    check(r.err == 'caractrl: project "ghost" not found\n', "delete missing", r)
    r = ctl.expect(1, "delete", "projects", "ghost", "alpha", "--force")
    check('project "alpha" deleted' in r.out and "ghost" in r.err, "delete continues past a missing one", r)
    # nodes: a free one goes, one with projects placed on it is refused (409 -> exit 1)
    ctl.ok("apply", "-f", "-", input="apiVersion: caravanserai/v1\nkind: Node\nmetadata:\n  name: spare\n")
    r = ctl.ok("delete", "node", "spare")
    check(r.out == 'node "spare" deleted\n', "delete node", r)
    patch_status(srv, "slowpoke", "Running")
    if srv.json("GET", "/api/v1/projects/slowpoke")[1]["status"].get("nodeRef") == "node-a":
        r = ctl.expect(1, "delete", "node", "node-a")
        check(r.err.startswith("caractrl: Conflict: "), "node with projects", r)


def test_version(ctl, srv):
    r = ctl.ok("version")
    lines = r.out.splitlines()
    check(lines[0].startswith("Client Version: ") and lines[1].startswith("Server Version: ")
          and "caravanserai/v1" in lines[1], "version", r)
    r = ctl.ok("version", "-o", "json")
    check(set(r.json()) == {"clientVersion", "serverVersion", "apiVersion"}, "version -o json", r)


def main():
    with postgres() as pg, CaraServer(database_url=pg.url) as srv, Ctl(srv.url) as ctl:
        test_version(ctl, srv)
        test_apply(ctl, srv)
        test_apply_wait(ctl, srv)
        test_get(ctl, srv)
        test_watch(ctl, srv)
        test_watch_name(ctl, srv)
        test_describe_status(ctl, srv)
        test_drain_delete(ctl, srv)
    print("ok")


if __name__ == "__main__":
    main()
