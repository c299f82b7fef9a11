#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""caractrl apply records what it applied (caravanserai/last-applied) and refuses to overwrite a
spec someone else changed since (exit 1, the fields named; --force overwrites); caractrl diff shows
live against file (exit 0 / 1 / 2); an unchanged re-apply of a Failed project retries it, against a
real server, agent and dockerd: an image missing at first is made locally, and the re-apply brings
the project to Running."""

import json
import re
import sys

import cara_fixtures as fx
from cara_agent import AgentCluster
from ctlkit import Ctl, check

LAST_APPLIED = "caravanserai/last-applied"


def diff_lines(r):
    """The diff's added/removed lines with the indentation after +/- dropped."""
    return {re.sub(r"^([+-])\s+", r"\1", l) for l in r.out.splitlines()}


def manifest(name, image, env_value="1", cmd=True):
    command = '\n      command: ["httpd", "-f", "-p", "80", "-h", "/www"]' if cmd else ""
    return ("apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n  name: %s\nspec:\n  services:\n"
            "    - name: web\n      image: %s%s\n      env:\n        - name: MODE\n          value: \"%s\"\n"
            % (name, image, command, env_value))


def main():
    with AgentCluster() as c:
        c.agent("n1")
        ctl = Ctl(server=c.url)
        name = fx.unique_name("rec")
        path = ctl.file("web.yaml", manifest(name, c.image))

        # diff before it exists: all added, exit 1
        r = ctl.expect(1, "diff", "-f", path)
        check("+++ file/project/%s" % name in r.out and "+image: %s" % c.image in diff_lines(r),
              "a new object diffs as all added", r)

        r = ctl.ok("apply", "-f", path)
        check(r.out == "project/%s created\n" % name, "created", r)
        live = c.project(name)
        recorded = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
        check(recorded["spec"]["services"][0]["image"] == c.image, "last-applied recorded on create", live)

        r = ctl.ok("diff", "-f", path)
        check(r.out == "", "no difference: exit 0, nothing printed", r)
        r = ctl.ok("apply", "-f", path)
        check(r.out == "project/%s unchanged\n" % name, "unchanged", r)

        # our own change: diff shows it (exit 1), apply configures it
        path = ctl.file("web.yaml", manifest(name, c.image, env_value="2"))
        r = ctl.expect(1, "diff", "-f", path)
        check({'-value: "1"', '+value: "2"'} <= diff_lines(r), "diff shows our change", r)
        r = ctl.ok("apply", "-f", path)
        check(r.out == "project/%s configured\n" % name, "our change is applied", r)

        # someone else's change through the API: not overwritten, the field is named
        live = c.project(name)
        live["spec"]["services"][0]["env"][0]["value"] = "theirs"
        st, _ = c.api("PUT", "/api/v1/projects/" + name, live)
        check(st == 200, "their PUT", st)
        r = ctl.expect(1, "apply", "-f", path)
        check("spec.services[0].env[0].value" in r.err and '"2" -> "theirs"' in r.err and "--force" in r.err,
              "a spec changed by someone else is refused with the field", r)
        check(c.project(name)["spec"]["services"][0]["env"][0]["value"] == "theirs", "their change kept", r)
        r = ctl.expect(1, "diff", "-f", path)
        check({'-value: theirs', '+value: "2"'} <= diff_lines(r), "diff shows theirs", r)
        r = ctl.ok("apply", "--force", "-f", path)
        check(r.out == "project/%s configured\n" % name, "--force overwrites", r)
        check(c.project(name)["spec"]["services"][0]["env"][0]["value"] == "2", "ours is live again", r)

        # a manifest that took their change in is unchanged, and the record follows it
        live = c.project(name)
        live["spec"]["services"][0]["env"][0]["value"] = "merged"
        c.api("PUT", "/api/v1/projects/" + name, live)
        path = ctl.file("web.yaml", manifest(name, c.image, env_value="merged"))
        r = ctl.ok("apply", "-f", path)
        check(r.out == "project/%s unchanged\n" % name, "merged manifest: unchanged", r)
        recorded = json.loads(c.project(name)["metadata"]["annotations"][LAST_APPLIED])
        check(recorded["spec"]["services"][0]["env"][0]["value"] == "merged", "record brought up to date", recorded)

        # bad manifests: exit 2 for diff too
        bad = ctl.file("bad.yaml", manifest(name, c.image).replace("kind: Project", "kind: Nonsense"))
        ctl.expect(2, "diff", "-f", bad)

        # a Failed project: an image that cannot be pulled (a registry on a closed port)
        failing = fx.unique_name("retry")
        image = "127.0.0.1:1/%s:latest" % failing
        fpath = ctl.file("retry.yaml", manifest(failing, image))
        ctl.ok("apply", "-f", fpath)
        c.wait_phase(failing, "Failed", timeout=60)
        fx.docker("tag", c.image, image)
        fx.on_exit(lambda: fx.docker("rmi", image, check=False))
        r = ctl.ok("apply", "-f", fpath)
        check(r.out.startswith("project/%s retried" % failing), "an unchanged Failed project is retried", r)
        c.wait_phase(failing, "Running", timeout=60)
        r = ctl.ok("apply", "-f", fpath)
        check(r.out == "project/%s unchanged\n" % failing, "once Running it is unchanged again", r)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
