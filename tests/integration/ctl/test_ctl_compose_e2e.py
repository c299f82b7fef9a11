# SPDX-License-Identifier: Apache-2.0
"""A Compose file end to end with caractrl alone, against a real server and agent on the local
dockerd (SPEC §10): web -> api -> db, each waiting for the next with `condition: service_healthy`,
a named volume, an env_file, a published port.  Checks the start order (each service starts only
once its dependency's healthcheck passed), DNS by service name (web fetches http://api/, api's
healthcheck fetches http://db/), the env_file's value, the port, the named volume surviving a
re-apply that replaces db's container and a delete + apply, and that `caractrl delete project
NAME` removes the containers and the network (the Persistent volume stays, as SPEC §2 has it)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import Ctl, check  # noqa: E402

import cara_fixtures as fx  # noqa: E402

COMPOSE = """\
name: {name}
services:
  web:
    image: {image}
    command: ["sh", "-c", "mkdir -p /srv/www && echo web-ok > /srv/www/index.html && exec httpd -f -p 80 -h /srv/www"]
    ports:
      - "127.0.0.1:{port}:80"
    depends_on:
      api:
        condition: service_healthy
    stop_grace_period: 1s
  api:
    image: {image}
    command: ["sh", "-c", "mkdir -p /srv/www && echo \\"api says $$GREETING\\" > /srv/www/index.html && exec httpd -f -p 80 -h /srv/www"]
    env_file: api.env
    healthcheck:
      test: ["CMD-SHELL", "timeout 2 wget -q -O - http://db/ | grep -q db-ready"]
      interval: 1s
      timeout: 3s
      retries: 60
    depends_on:
      db:
        condition: service_healthy
    stop_grace_period: 1s
  db:
    image: {image}
    command: ["sh", "-c", "mkdir -p /data/www && {{ [ -f /data/first ] || date > /data/first; }} && sleep 2 && echo db-ready > /data/www/index.html && exec httpd -f -p 80 -h /data/www"]
    environment:
      REVISION: "{revision}"
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "test", "-f", "/data/www/index.html"]
      interval: 1s
      retries: 60
    stop_grace_period: 1s
volumes:
  data:
"""



def main():
    try:
        from cara_agent import AgentCluster, containers, docker_time, first_healthy_at, inspect  # noqa: PLC0415
    except ImportError:
        fx.skip("tests/lib/cara_agent.py is missing")
    if not os.path.exists(os.environ.get("CARA_AGENT_BIN", "")):
        fx.skip("cara-agent is not built")
    with AgentCluster() as c, Ctl(None) as ctl:
        ctl.env["CARA_SERVER"] = c.url
        c.agent("n1")
        node = c.agents[0].node
        name = fx.unique_name("shop")
        port = fx.free_port()
        fx.on_exit(lambda: fx.docker_cleanup(["cara.project=" + name, "cara.node=" + node]))
        ctl.file("shop/api.env", "# the api's settings\nGREETING='hello from env_file'\n")
        compose = ctl.file("shop/compose.yaml", COMPOSE.format(name=name, image=fx.BUSYBOX_IMAGE, port=port, revision=1))

        r = ctl.ok("convert", "-f", compose, "-o", "json")
        spec = json.loads(r.out)["spec"]
        by_name = {s["name"]: s for s in spec["services"]}
        check(by_name["web"]["dependsOn"] == [{"name": "api", "condition": "Healthy"}], "convert: web waits for api", r)
        check(by_name["db"]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
              and spec["volumes"] == [{"name": "data", "type": "Persistent"}], "convert: the named volume", r)

        r = ctl.ok("apply", "-f", compose, "--wait", "--timeout", "120s", timeout=150)
        check(r.out.startswith("project/%s created\n" % name), "apply of a Compose file", r)

        def container(service):
            found = containers(["cara.project=" + name, "cara.service=" + service, "cara.node=" + node])
            return inspect(found[0]["id"]) if found else None

        r = ctl.ok("describe", "project", name)
        check("api (Healthy)" in r.out and "db (Healthy)" in r.out, "describe shows the dependsOn conditions", r)
        check("SIGTERM, SIGKILL after 1s" in r.out, "describe shows the stop grace period", r)

        db, api, web = container("db"), container("api"), container("web")
        check(docker_time(api["State"]["StartedAt"]) >= first_healthy_at(db), "api started after db was healthy",
              db["State"], api["State"]["StartedAt"])
        check(docker_time(web["State"]["StartedAt"]) >= first_healthy_at(api), "web started after api was healthy",
              api["State"], web["State"]["StartedAt"])
        print("start order: db healthy %s, api healthy %s, web started %s" % (
            first_healthy_at(db).time(), first_healthy_at(api).time(), docker_time(web["State"]["StartedAt"]).time()))

        # DNS by service name on the project network, and the env_file's value in api
        out = fx.docker("exec", web["Id"], "timeout", "10", "wget", "-q", "-O", "-", "http://api/")
        check(out == "api says hello from env_file", "web reaches api by name; env_file applied", out)
        out = fx.docker("exec", api["Id"], "timeout", "10", "wget", "-q", "-O", "-", "http://db/")
        check(out == "db-ready", "api reaches db by name", out)
        status, _, body = fx.wait_until(lambda: (lambda s: s if s[0] == 200 else None)(
            fx.http("GET", "http://127.0.0.1:%d/" % port)), timeout=30, what="the published port")
        check(body == b"web-ok\n", "the port is published on 127.0.0.1", body)
        binding = web["HostConfig"]["PortBindings"]["80/tcp"][0]
        check(binding == {"HostIp": "127.0.0.1", "HostPort": str(port)}, "HostIP binding", binding)

        # the named volume survives a re-apply that replaces db's container ...
        fx.docker("exec", db["Id"], "sh", "-c", "echo kept > /data/keep.txt")
        first = fx.docker("exec", db["Id"], "cat", "/data/first")
        r = ctl.ok("apply", "-f", compose)
        check(r.out == "project/%s unchanged\n" % name, "re-apply unchanged", r)
        ctl.file("shop/compose.yaml", COMPOSE.format(name=name, image=fx.BUSYBOX_IMAGE, port=port, revision=2))
        r = ctl.ok("apply", "-f", compose, "--wait", "--timeout", "120s", timeout=150)
        check(r.out.startswith("project/%s configured\n" % name), "re-apply with a change", r)
        db2 = container("db")
        check(db2["Id"] != db["Id"], "db's container was replaced")
        check(fx.docker("exec", db2["Id"], "cat", "/data/keep.txt") == "kept", "data file kept across re-apply")
        check(fx.docker("exec", db2["Id"], "cat", "/data/first") == first, "db's first start is remembered")
        check(container("web")["Id"] == web["Id"], "web, unchanged, kept its container")

        # diff and delete take the Compose file as apply does (the same conversion, the same names)
        r = ctl.ok("diff", "-f", compose)
        check(r.out == "", "diff -f compose.yaml: nothing to apply", r)
        ctl.file("shop/compose.yaml", COMPOSE.format(name=name, image=fx.BUSYBOX_IMAGE, port=port, revision=3))
        r = ctl.expect(1, "diff", "-f", compose)
        changed = [line for line in r.out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        check(any(line[0] == "-" and "\"2\"" in line for line in changed)
              and any(line[0] == "+" and "\"3\"" in line for line in changed),
              "diff -f compose.yaml shows REVISION going from 2 to 3", r)
        ctl.file("shop/compose.yaml", COMPOSE.format(name=name, image=fx.BUSYBOX_IMAGE, port=port, revision=2))

        # ... and a delete (by the Compose file) and apply again
        r = ctl.ok("delete", "-f", compose, "--wait", timeout=120)
        check(r.out.startswith('project "%s" deleted' % name), "delete -f compose.yaml", r)
        check(containers(["cara.project=" + name]) == [], "delete removed every container")
        nets = fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + name)
        check(nets == "", "delete removed the network", nets)
        vols = fx.docker("volume", "ls", "-q", "--filter", "label=cara.project=" + name)
        check(vols != "", "the Persistent volume stays after delete (SPEC §2)", vols)
        ctl.expect(1, "get", "project", name)
        r = ctl.ok("apply", "-f", compose, "--wait", "--timeout", "120s", timeout=150)
        check(r.out.startswith("project/%s created\n" % name), "apply after delete", r)
        check(fx.docker("exec", container("db")["Id"], "cat", "/data/keep.txt") == "kept",
              "data file kept across delete and apply")

        r = ctl.ok("delete", "project", name, "--wait", timeout=120)
        check(r.out == 'project "%s" deleted\n' % name, "delete project NAME", r)
        ctl.expect(1, "get", "project", name)
        check(containers(["cara.project=" + name]) == [], "no container left")
        check(fx.docker("network", "ls", "-q", "--filter", "label=cara.project=" + name) == "", "no network left")
        fx.docker("volume", "rm", *fx.docker("volume", "ls", "-q", "--filter", "label=cara.project=" + name).split())
    print("ok")


if __name__ == "__main__":
    main()
