# SPDX-License-Identifier: Apache-2.0
"""Fixture: run cara-agent (and, for convenience, a cara-server to talk to) for a test.

    from cara_agent import AgentCluster
    with AgentCluster() as c:                       # PostgreSQL + cara-server, busybox image
        a = c.agent("n1")                           # cara-agent with NODE_NAME=<unique>-n1
        c.apply(project_json(...))                   # POST (or PUT) /api/v1/projects
        c.wait_phase("web", "Running")

Every agent runs with a short heartbeat and polling interval, no D-Bus (unless given), its own
agent port, and the test image; every Docker object labelled with one of its node names is
removed at exit (docker_cleanup), even when the test fails.
"""

import datetime
import json
import os
import time

import cara_fixtures as fx

AGENT_DEFAULT_ENV = {
    "HEARTBEAT_INTERVAL": "1s",
    "POLL_INTERVAL": "500ms",
    "RESYNC_INTERVAL": "10s",
    "STOP_TIMEOUT": "1s",
    "IMAGE_PULL_TIMEOUT": "20s",
    # No bus unless a test gives one: the agent logs that and carries on.
    "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/cara-test-bus",
}


def agent_bin():
    b = os.environ.get("CARA_AGENT_BIN", "cara-agent")
    if not os.path.exists(b):
        fx.skip("cara-agent binary not found: " + b)
    return b


def server_bin():
    b = os.environ.get("CARA_SERVER_BIN", "cara-server")
    if not os.path.exists(b):
        fx.skip("cara-server binary not found: " + b)
    return b


class Agent(fx.Daemon):
    """One cara-agent. .node is its NODE_NAME, .port its agent port."""

    def __init__(self, node, server_url, env=None, args=None, start=True):
        self.node = node
        self.port = fx.free_port()
        self.proxy_port = fx.free_port()
        self.server_url = server_url
        e = dict(AGENT_DEFAULT_ENV)
        e.update({"NODE_NAME": node, "SERVER_URL": server_url, "AGENT_LISTEN_PORT": str(self.port),
                  "AGENT_ADVERTISE_IP": "127.0.0.1", "PROXY_LISTEN_ADDR": "127.0.0.1:%d" % self.proxy_port})
        e.update(env or {})
        # An agent without a join token must be told that the cluster runs without authorisation.
        if not e.get("CARA_TOKEN") and not os.environ.get("CARA_TOKEN"):
            e.setdefault("CARA_AUTH", "none")
        fx.on_exit(lambda: fx.docker_cleanup("cara.node=" + node))
        # Its own state directory: the node token (SPEC §9) lives there and survives restarts.
        self.data_dir = os.path.join(fx.log_dir(), "agent-state-" + node)
        os.makedirs(self.data_dir, exist_ok=True)
        super().__init__([agent_bin(), "--config", "/nonexistent/agent.conf", "--data-dir", self.data_dir]
                         + list(args or []), env=e, name="cara-agent-" + node, start=start)

    @property
    def node_token(self):
        """The node token the agent generated (None without a join token)."""
        try:
            with open(os.path.join(self.data_dir, "node-%s.token" % self.node)) as f:
                return f.read().strip()
        except OSError:
            return None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def wait_ready(self, timeout=30):
        return self.wait_http(self.url + "/healthz", timeout=timeout)


class AgentCluster:
    """A private PostgreSQL, one cara-server and any number of agents."""

    def __init__(self, server_env=None):
        fx.ensure_dockerd()
        self.image = fx.ensure_busybox_image()
        self.prefix = fx.unique_name("ag")
        self.pg = fx.Postgres()
        self.server_port = fx.free_port()
        env = {"DATABASE_URL": self.pg.url, "HOST": "127.0.0.1", "PORT": str(self.server_port),
               "CARA_AUTH": "none", "NODE_HEARTBEAT_TIMEOUT": "30s", "RESYNC_INTERVAL": "2s"}
        env.update(server_env or {})
        self.state_dir = os.path.join(fx.log_dir(), "server-state-" + self.prefix)
        os.makedirs(self.state_dir, exist_ok=True)
        self.server = fx.Daemon([server_bin(), "--data-dir", self.state_dir, "--config", "/nonexistent/server.conf"],
                                env=env, name="cara-server")
        self.url = "http://127.0.0.1:%d" % self.server_port
        self.server.wait_http(self.url + "/api/healthz", timeout=60)
        self.agents = []

    def node_name(self, suffix):
        return "%s-%s" % (self.prefix, suffix)

    def agent(self, suffix="n1", env=None, wait=True):
        a = Agent(self.node_name(suffix), self.url, env=env)
        self.agents.append(a)
        if wait:
            a.wait_ready()
            self.wait_node_ready(a.node)
        return a

    # ---- API helpers
    def api(self, method, path, body=None, timeout=10):
        status, _, data = fx.http_json(method, self.url + path, body, timeout=timeout)
        return status, data

    def wait_node_ready(self, node, timeout=30):
        def ready():
            s, n = self.api("GET", "/api/v1/nodes/" + node)
            return s == 200 and n["status"].get("state") == "Ready"
        fx.wait_until(ready, timeout=timeout, what="node %s Ready" % node)

    def apply(self, project):
        s, body = self.api("POST", "/api/v1/projects", project)
        if s == 409:
            s, body = self.api("PUT", "/api/v1/projects/" + project["metadata"]["name"], project)
        if s not in (200, 201):
            raise AssertionError("apply %s: %s %s" % (project["metadata"]["name"], s, body))
        return body

    def project(self, name):
        s, p = self.api("GET", "/api/v1/projects/" + name)
        return p if s == 200 else None

    def wait_phase(self, name, phase, timeout=30, node=None):
        def reached():
            p = self.project(name)
            if p and p["status"].get("phase") == phase and (node is None or p["status"].get("nodeRef") == node):
                return p
            return None
        try:
            return fx.wait_until(reached, timeout=timeout, interval=0.05, what="project %s %s" % (name, phase))
        except TimeoutError:
            print("last seen: %s" % json.dumps(self.project(name)), flush=True)
            raise

    def wait_gone(self, name, timeout=30):
        fx.wait_until(lambda: self.project(name) is None, timeout=timeout, what="project %s deleted" % name)

    def close(self):
        for a in self.agents:
            a.stop(timeout=10)
        self.server.stop(timeout=15)
        self.pg.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def project(name, services, volumes=None, node_selector=None):
    """A Project manifest as JSON."""
    p = {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name},
         "spec": {"services": services}}
    if volumes:
        p["spec"]["volumes"] = volumes
    if node_selector:
        p["spec"]["nodeSelector"] = node_selector
    return p


def service(name, image=fx.BUSYBOX_IMAGE, command=None, **extra):
    s = {"name": name, "image": image}
    if command:
        s["command"] = command
    s.update(extra)
    return s


def stream_test_project(name):
    """The project the logs and port-forward tests use: a web page on :80 (busybox httpd), an echo
    service on :7000, and a talker writing to stdout and stderr every 0.3 s."""
    return project(name, [
        service("web", command=["httpd", "-f", "-p", "80", "-h", "/www"]),
        service("echo", command=["nc", "-ll", "-p", "7000", "-e", "cat"]),
        service("talker", command=["sh", "-c", "echo out-line-1; echo err-line-1 >&2; i=0; "
                                                "while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done"]),
    ])


def containers(label_filters, all=True):
    """[{id, name, state, labels}] of the containers matching every "k=v" label filter."""
    args = ["ps", "--no-trunc", "--format", "{{json .}}"] + (["-a"] if all else [])
    for f in label_filters:
        args += ["--filter", "label=" + f]
    out = fx.docker(*args)
    result = []
    for line in out.splitlines():
        c = json.loads(line)
        labels = dict(kv.split("=", 1) for kv in c.get("Labels", "").split(",") if "=" in kv)
        result.append({"id": c["ID"], "name": c["Names"], "state": c["State"], "labels": labels})
    return result


def inspect(name_or_id):
    return json.loads(fx.docker("inspect", name_or_id))[0]


def now():
    return time.monotonic()


def first_healthy_at(container):
    """When Docker first found @container (its inspect) healthy, as a naive UTC datetime, from
    Docker's event log: inspect's Health.Log keeps only the last 5 results, so under load its
    earliest success is later than the first one."""
    out = fx.docker("events", "--since", container["Created"], "--until", "%.3f" % time.time(),
                    "--filter", "container=" + container["Id"], "--format", "{{json .}}")
    for line in out.splitlines():
        ev = json.loads(line)
        if ev.get("Action") == "health_status: healthy":
            return datetime.datetime.fromtimestamp(ev["timeNano"] / 1e9, datetime.timezone.utc).replace(tzinfo=None)
    raise AssertionError("Docker has no healthy event of container %s" % container["Id"][:12])


def docker_time(s):
    """A time from docker inspect (2026-12-03T13:01:56.123456789Z) as a naive UTC datetime."""
    s = s.rstrip("Z")
    if "." in s:
        head, frac = s.split(".")
        s = head + "." + frac[:6]
    return datetime.datetime.fromisoformat(s)
