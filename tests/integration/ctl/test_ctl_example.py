# SPDX-License-Identifier: Apache-2.0
"""The examples/README.md walkthrough with caractrl alone, against a real server and a real agent
on the local dockerd: apply examples/hello.yaml --wait, fetch the page, get/status/describe,
re-apply (unchanged), logs (tail, all services, -f, status's last lines), delete --wait.
Also: every manifest in examples/ is valid."""

import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, SOURCE, Ctl, check  # noqa: E402

import cara_fixtures as fx  # noqa: E402


def main():
    examples = os.path.join(SOURCE, "examples")
    with Ctl("http://127.0.0.1:1") as ctl:
        # every document of every example passes the client's checks (then the send fails: 7)
        r = ctl.expect(7, "apply", "-f", examples)
        check("cannot connect" in r.err, "examples are valid", r)
        r = ctl.expect(7, "apply", "-f", os.path.join(examples, "nodes"))
        check("cannot connect" in r.err, "examples/nodes are valid", r)
    # `apply -f examples/` makes projects only (a Node there would be a phantom NotReady node), none
    # on cara-server's own port 8080, and the quick start's image is the one dev-cluster makes
    for name in sorted(os.listdir(examples)):
        if name.endswith((".yaml", ".yml", ".json")):
            with open(os.path.join(examples, name)) as f:
                text = f.read()
            check("kind: Node" not in text, "%s holds no Node" % name, text)
            check("hostPort: 8080" not in text, "%s publishes nothing on 8080" % name, text)
    with open(os.path.join(examples, "hello.yaml")) as f:
        check("image: caravanserai/busybox:local\n" in f.read(), "hello.yaml uses dev-cluster's image")

    try:
        from cara_agent import AgentCluster, containers  # noqa: PLC0415
    except ImportError:
        fx.skip("tests/lib/cara_agent.py is missing")
    if not os.path.exists(os.environ.get("CARA_AGENT_BIN", "")):
        fx.skip("cara-agent is not built")
    with AgentCluster() as c, Ctl(None) as ctl:
        ctl.env["CARA_SERVER"] = c.url
        c.agent("n1")
        name = fx.unique_name("hello")
        port = fx.free_port()
        with open(os.path.join(examples, "hello.yaml")) as f:
            text = f.read()
        text = (text.replace("name: hello\n", "name: %s\n" % name, 1)
                .replace("image: caravanserai/busybox:local", "image: " + fx.BUSYBOX_IMAGE)
                .replace("hostPort: 8088", "hostPort: %d" % port))
        manifest = ctl.file("hello.yaml", text)

        r = ctl.ok("get", "nodes")
        check(c.node_name("n1") in r.out and "Ready" in r.out, "the agent's node is listed", r)
        r = ctl.ok("apply", "-f", manifest, "--wait", "--timeout", "90s", timeout=120)
        check(r.out.startswith("project/%s created\n" % name) and "(1/1)" in r.out.splitlines()[-1], "apply --wait", r)
        status, _, body = fx.wait_until(lambda: (lambda s: s if s[0] == 200 else None)(
            fx.http("GET", "http://127.0.0.1:%d/" % port)), timeout=30, what="the page")
        check(b"Hello from Caravanserai" in body, "the page is served", body)

        r = ctl.ok("get", "projects", name)
        check(r.out.splitlines()[1].split()[1] == "Running", "get shows Running", r)
        r = ctl.ok("status", name)
        check(r.out.startswith("● %s - Project" % name) and "Active: running since" in r.out
              and "web" in r.out and "running" in r.out, "status", r)
        r = ctl.ok("describe", "project", name)
        check("Ports:" in r.out and "%d->80/tcp" % port in r.out and "Healthcheck:" in r.out, "describe", r)
        r = ctl.ok("apply", "-f", manifest)
        check(r.out == "project/%s unchanged\n" % name, "re-apply is unchanged", r)

        # logs through the server (relayed from the agent), and the last lines in status
        ticker = fx.unique_name("tick")
        ctl.ok("apply", "-f", "-", "--wait", "--timeout", "90s", timeout=120, input=(
            "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: %s\nspec:\n  services:\n"
            "    - name: talk\n      image: %s\n      command: [sh, -c, 'echo hello-from-logs; i=0; "
            "while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']\n" % (ticker, fx.BUSYBOX_IMAGE)))
        fx.wait_until(lambda: "tick 3" in ctl.ok("logs", ticker).out, timeout=30, what="log lines")
        r = ctl.ok("logs", ticker + "/talk", "--tail", "2")
        check(len(r.out.splitlines()) == 2 and r.out.startswith("tick "), "logs --tail of one service", r)
        r = ctl.ok("logs", ticker)
        check(r.out.startswith("talk | hello-from-logs\n"), "all services, prefixed", r)
        r = ctl.ok("status", ticker, "-n", "3")
        check(r.out.rstrip("\n").splitlines()[-1].startswith("talk | tick "), "status ends with log lines", r)
        follow = subprocess.Popen([CTL, "logs", ticker + "/talk", "-f", "--tail", "1"], env=ctl.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = int(follow.stdout.readline().split()[1])
            later = int(follow.stdout.readline().split()[1])
            check(later == first + 1, "logs -f keeps streaming", first, later)
        finally:
            follow.send_signal(signal.SIGINT)
            check(follow.wait(10) == 0, "Ctrl+C ends logs -f with exit 0")
            follow.stdout.close()
            follow.stderr.close()
        ctl.ok("delete", "project", ticker, "--wait", timeout=120)
        r = ctl.expect(1, "logs", ticker)
        check("Not Found" in r.err, "logs of a deleted project", r)

        r = ctl.ok("delete", "project", name, "--wait", timeout=120)
        check(r.out == 'project "%s" deleted\n' % name, "delete --wait", r)
        ctl.expect(1, "get", "project", name)
        left = containers(["cara.project=" + name])
        check(left == [], "containers removed", left)
    print("ok")


if __name__ == "__main__":
    main()
