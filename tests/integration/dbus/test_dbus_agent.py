# SPDX-License-Identifier: Apache-2.0
"""The real cara-agent on a private system bus (DBUS_SYSTEM_BUS_ADDRESS), with a real cara-server,
PostgreSQL and dockerd: it owns org.caravanserai.Agent, `busctl get-property ... NodeName` answers
its node name, State turns ready with a heartbeat, a project placed on it shows up as an object in
`busctl tree` and vanishes when deleted, Reconcile works, and its introspection matches the
shipped XML."""

import os
import random
import sys
import time

import cara_fixtures as fx
from cara_server import CaraServer, postgres

import dbus_testlib as t
from dbus_testlib import IFACE, NAME, PATH, PROJECT_IFACE, diff, normalise, parse

t.require_tools()
AGENT_BIN = os.environ.get("CARA_AGENT_BIN", "")
if not os.access(AGENT_BIN, os.X_OK):
    t.skip(f"cara-agent not built: {AGENT_BIN!r}")
fx.ensure_dockerd()
IMAGE = fx.ensure_busybox_image()


def free_pool():
    """A /24 for the agent's project networks that no Docker network or route uses."""
    used = fx.used_subnets()
    candidates = list(fx.TEST_SUBNET_POOL.subnets(new_prefix=24))
    random.shuffle(candidates)
    for c in candidates:
        if not any(c.overlaps(u) for u in used):
            return str(c)
    fx.skip("no free test subnet")


def object_path(project):
    # sd_bus_path_encode: anything but [A-Za-z0-9] (and a leading digit) becomes _xx.
    return PATH + "/project/" + "".join(
        ch if ch.isascii() and (ch.isalpha() or (ch.isdigit() and i > 0)) else "_%02x" % ord(ch)
        for i, ch in enumerate(project))


def wait(agent, pred, timeout, what):
    """Poll pred until truthy; fail at once (with the agent's log) if the agent exits meanwhile."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if not agent.running:
            agent.print_log()
            raise AssertionError(f"cara-agent exited ({agent.proc.returncode}) while waiting for {what}")
        try:
            value = pred()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - not yet
            last = e
        if time.monotonic() > deadline:
            agent.print_log()
            raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last error: {last!r})")
        time.sleep(0.1)


def main():
    node = fx.unique_name("dbusnode")
    project = fx.unique_name("dbusproj")
    proj_path = object_path(project)
    with postgres() as pg, CaraServer(database_url=pg.url) as srv:
        bus = t.PrivateBus()
        fx.on_exit(bus.close)
        fx.on_exit(lambda: fx.docker_cleanup("cara.project=" + project))
        # e.g. CARA_AGENT_WRAPPER="valgrind -q" to look at a crash
        wrapper = os.environ.get("CARA_AGENT_WRAPPER", "").split()
        agent = fx.Daemon(wrapper + [AGENT_BIN, "--config", os.path.join(bus.dir, "none.conf")], name="cara-agent", env={
            "DBUS_SYSTEM_BUS_ADDRESS": bus.address,
            "CARA_AUTH": "none",
            "SERVER_URL": srv.url,
            "NODE_NAME": node,
            "HEARTBEAT_INTERVAL": "1s",
            "POLL_INTERVAL": "1s",
            "AGENT_LISTEN_PORT": str(fx.free_port()),
            "AGENT_ADVERTISE_IP": "127.0.0.1",
            "PROXY_LISTEN_ADDR": "127.0.0.1:%d" % fx.free_port(),
            "NETWORK_POOL": free_pool(),
        })
        with agent:
            # The name is owned: operator-style queries answer.
            wait(agent, lambda: bus.get_property("NodeName") == node, 60, "the agent on D-Bus")
            out = bus.busctl("get-property", NAME, PATH, IFACE, "NodeName").stdout.strip()
            assert out == f's "{node}"', out
            assert bus.get_property("ServerURL") == srv.url
            wait(agent, lambda: bus.get_property("State") == "ready", 60, "State ready")
            assert bus.get_property("LastHeartbeat") > 0
            print("ok   agent owns the name; NodeName, State ready, LastHeartbeat")

            running = {}
            running.update(normalise(parse(bus.busctl("introspect", "--xml-interface", NAME, PATH).stdout)))

            monitor = t.Monitor(bus)
            fx.on_exit(monitor.close)
            status, _, body = fx.http_json("POST", srv.url + "/api/v1/projects", {
                "apiVersion": "caravanserai/v1", "kind": "Project",
                "metadata": {"name": project},
                "spec": {"services": [{"name": "web", "image": IMAGE,
                                       "command": ["sleep", "3600"]}]},
            })
            assert status == 201, (status, body)

            # The project reaches the node: its object appears, Running with its container.
            wait(agent, lambda: proj_path in bus.busctl("tree", NAME).stdout, 120,
                        "the project's object in busctl tree")
            wait(agent, lambda: bus.get_property("Phase", path=proj_path, iface=PROJECT_IFACE) == "Running",
                        120, "phase Running on D-Bus")
            services = bus.get_property("Services", path=proj_path, iface=PROJECT_IFACE)
            assert services and services[0][0] == "web" and services[0][2] != "", services
            listed = bus.call("ListProjects")[0]
            assert [project, "Running", 1, proj_path] in listed, listed
            assert bus.get_property("ProjectCount") >= 1
            monitor.wait_signal("InterfacesAdded", lambda d: d[0] == proj_path)
            monitor.wait_signal("ProjectChanged", lambda d: d[0] == project)
            print("ok   project object appears with phase Running and its service")

            running.update(normalise(parse(bus.busctl("introspect", "--xml-interface", NAME, proj_path).stdout)))
            with open(os.path.join(t.SOURCE_DIR, "dbus", "org.caravanserai.Agent1.xml")) as f:
                shipped = normalise(parse(f.read()))
            problems = diff(running, shipped)
            assert not problems, "cara-agent's introspection differs from the shipped XML:\n" + \
                "\n".join(problems)
            print("ok   cara-agent introspection matches dbus/org.caravanserai.Agent1.xml")

            assert bus.call("Reconcile") is None
            assert bus.call_error("org.caravanserai.Agent1.Reconcile", user="nobody") == \
                "org.freedesktop.DBus.Error.AccessDenied"
            print("ok   Reconcile (root) works, refused for nobody")

            status, _, body = fx.http_json("DELETE", srv.url + "/api/v1/projects/" + project)
            assert status in (200, 202, 204), (status, body)
            wait(agent, lambda: proj_path not in bus.busctl("tree", NAME).stdout, 120,
                        "the project's object to vanish")
            monitor.wait_signal("InterfacesRemoved", lambda d: d[0] == proj_path)
            print("ok   project object vanishes after delete")

            rc = agent.stop()
            assert rc == 0, rc
            assert NAME not in bus.busctl("list", "--acquired").stdout
            print("ok   clean shutdown releases the name")


try:
    main()
except BaseException:
    print("FAIL", file=sys.stderr)
    raise
