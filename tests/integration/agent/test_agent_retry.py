#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A Failed project retries when applied again unchanged: a project whose image is missing goes
Failed (ImagePullFailed, the message saying "re-apply to retry"); `caractrl apply` of the same
file prints "retried", the server moves it back to Scheduled on the same node and its agent tries
again (failing the same way again is reported again); once the image exists locally (docker tag,
no registry), the next unchanged re-apply brings it to Running, still on that node.  Real
cara-server, cara-agent, PostgreSQL and dockerd; the missing image's registry is a closed port on
loopback, so no pull leaves the machine."""

import json
import os
import subprocess
import sys

import cara_fixtures as fx
from cara_agent import AgentCluster, containers, project, service

CTL = os.environ.get("CARACTRL_BIN", os.path.join(os.environ.get("CARA_BUILD_DIR", ""), "src", "ctl", "caractrl"))


def caractrl(url, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_") and not k.startswith("LC_")}
    env.update({"CARA_SERVER": url, "LC_ALL": "C.UTF-8", "HOME": fx.log_dir(),
                "CARA_ADMIN_TOKEN_FILE": os.path.join(fx.log_dir(), "no-admin-token")})
    p = subprocess.run([CTL] + list(args), env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "caractrl %s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr)
    return p.stdout


def phase_condition(p):
    return [x for x in p["status"].get("conditions", []) if x["type"] == "Phase"][0]


def main():
    if not os.path.exists(CTL):
        fx.skip("caractrl not built: " + CTL)
    with AgentCluster() as c:
        agent = c.agent("n1", env={"IMAGE_PULL_TIMEOUT": "5s"})
        name = fx.unique_name("retry")
        image = "127.0.0.1:%d/%s:1" % (fx.free_port(), name)
        manifest = os.path.join(fx.log_dir(), name + ".json")
        with open(manifest, "w") as f:
            json.dump(project(name, [service("app", image=image, command=["sleep", "3600"])]), f)

        out = caractrl(c.url, "apply", "-f", manifest)
        assert out == "project/%s created\n" % name, out
        failed = c.wait_phase(name, "Failed", timeout=30)
        node = failed["status"]["nodeRef"]
        assert node == agent.node, failed["status"]
        cond = phase_condition(failed)
        assert cond["reason"] == "ImagePullFailed" and image in cond["message"], cond
        assert "re-apply to retry" in cond["message"], cond
        print("failed: %s" % cond["message"])

        # still missing: the retry happens (Scheduled on the same node) and fails again, reported again
        out = caractrl(c.url, "apply", "-f", manifest, "-o", "json")
        retried = json.loads(out)
        assert retried["status"]["phase"] == "Scheduled" and retried["status"]["nodeRef"] == node, retried["status"]
        assert phase_condition(retried)["reason"] == "Retry", retried["status"]
        again = c.wait_phase(name, "Failed", timeout=30)
        assert phase_condition(again)["reason"] == "ImagePullFailed", again["status"]
        assert agent.log().count("Reconcile failed") >= 2, "the agent did not try again"

        # the image appears locally; an unchanged re-apply retries at once and runs it
        fx.docker("tag", c.image, image)
        fx.on_exit(lambda: fx.docker("rmi", image, check=False))
        out = caractrl(c.url, "apply", "-f", manifest)
        assert out == "project/%s retried\n" % name, out
        running = c.wait_phase(name, "Running", timeout=30)
        assert running["status"]["nodeRef"] == node, running["status"]
        assert [x["state"] for x in containers(["cara.project=" + name])] == ["running"]

        # a Running project applied again unchanged stays untouched
        out = caractrl(c.url, "apply", "-f", manifest)
        assert out == "project/%s unchanged\n" % name, out

        st, _ = c.api("DELETE", "/api/v1/projects/" + name)
        assert st in (200, 202, 204), st
        c.wait_gone(name, timeout=30)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
