# SPDX-License-Identifier: Apache-2.0
"""The agent's D-Bus object (src/agent/agent-bus.c, driven by bus-harness) on a private
dbus-daemon, examined with busctl as an operator would."""

import json
import time

import dbus_testlib as t
from dbus_testlib import IFACE, NAME, PATH, PROJECT_IFACE

t.require_tools()
WEB = PATH + "/project/web_2dapp"  # sd_bus_path_encode escapes "-"
DB = PATH + "/project/db"
API = PATH + "/project/api"

bus = t.PrivateBus()
harness = None
monitor = None


def test_introspect_lists_interface():
    out = bus.busctl("introspect", NAME, PATH).stdout
    rows = {}
    for line in out.splitlines():
        cols = line.split()
        if cols:
            rows[cols[0]] = cols[1:]
    assert rows[IFACE][0] == "interface", out
    for prop, sig in [("NodeName", "s"), ("ServerURL", "s"), ("State", "s"), ("Version", "s"),
                      ("LastHeartbeat", "t"), ("ProjectCount", "u")]:
        assert rows["." + prop][:2] == ["property", sig], (prop, rows.get("." + prop))
    assert rows[".ListProjects"][:3] == ["method", "-", "a(ssuo)"]
    assert rows[".Reconcile"][:3] == ["method", "-", "-"]
    assert rows[".GetProject"][:3] == ["method", "s", "s"]
    assert rows[".ProjectChanged"][:2] == ["signal", "ss"]
    assert rows["org.freedesktop.DBus.ObjectManager"][0] == "interface"


def test_properties():
    out = bus.busctl("get-property", NAME, PATH, IFACE, "NodeName").stdout.strip()
    assert out == 's "node-1"', out
    assert bus.get_property("ServerURL") == "http://127.0.0.1:8080"
    assert bus.get_property("State") == "ready"
    assert bus.get_property("Version") != ""
    assert bus.get_property("ProjectCount") == 2
    heartbeat = bus.get_property("LastHeartbeat")
    assert abs(heartbeat / 1e6 - time.time()) < 120, heartbeat


def test_tree_shows_projects():
    out = bus.busctl("tree", NAME).stdout
    for path in (PATH, WEB, DB):
        assert path in out, out


def test_list_projects():
    assert bus.call("ListProjects") == [[
        ["db", "Pending", 0, DB],
        ["web-app", "Running", 2, WEB],
    ]]


def test_project_object():
    assert bus.get_property("Name", path=WEB, iface=PROJECT_IFACE) == "web-app"
    assert bus.get_property("Phase", path=WEB, iface=PROJECT_IFACE) == "Running"
    assert bus.get_property("Services", path=WEB, iface=PROJECT_IFACE) == [
        ["app", "running", "c0ffee"], ["cache", "running", "beef42"]]
    out = bus.busctl("introspect", NAME, WEB).stdout
    assert PROJECT_IFACE in out and ".Restart" in out, out
    managed = bus.call("GetManagedObjects", iface="org.freedesktop.DBus.ObjectManager")[0]
    assert sorted(managed) == [DB, WEB], managed
    assert managed[WEB][PROJECT_IFACE]["Phase"]["data"] == "Running"


def test_get_project():
    doc = json.loads(bus.call("GetProject", "s", "web-app")[0])
    assert doc["name"] == "web-app" and doc["phase"] == "Running", doc
    assert bus.call_error("org.caravanserai.Agent1.GetProject", "string:nope") == \
        "org.caravanserai.Error.NotFound"


def test_restart():
    bus.call("Restart", "s", "cache", path=WEB, iface=PROJECT_IFACE)
    assert harness.wait_line("RESTART") == "RESTART web-app cache"
    assert bus.call_error("org.caravanserai.Project1.Restart", "string:nope", path=WEB) == \
        "org.caravanserai.Error.NotFound"
    # An object that is not a project (any more) answers UnknownObject.
    err = bus.call_error("org.caravanserai.Project1.Restart", "string:app", path=PATH + "/project/gone")
    assert err == "org.freedesktop.DBus.Error.UnknownObject", err


def test_non_root_reads_but_may_not_reconcile():
    # A permissive bus: the agent's own uid check (defence in depth) is what refuses.
    assert bus.get_property("NodeName", user="nobody") == "node-1"
    assert bus.call("ListProjects", user="nobody")[0][0][0] == "db"
    assert bus.call_error("org.caravanserai.Agent1.Reconcile", user="nobody") == \
        "org.freedesktop.DBus.Error.AccessDenied"
    assert bus.call_error("org.caravanserai.Project1.Restart", "string:app", path=WEB,
                          user="nobody") == "org.freedesktop.DBus.Error.AccessDenied"


def test_reconcile_changes_objects_and_signals():
    doc = t.sample_projects()
    doc["projects"] = [
        {"name": "db", "phase": "Running",
         "services": [{"name": "pg", "state": "running", "containerId": "0123"}]},
        {"name": "api", "phase": "Scheduled", "services": []},
    ]
    doc["state"] = "disconnected"
    harness.write(doc)
    before = bus.get_property("LastHeartbeat")
    assert bus.call("Reconcile") is None
    # Only the Reconcile calls that were allowed reached the agent: this is the first.
    assert harness.wait_line("RECONCILED") == "RECONCILED 1"

    out = bus.busctl("tree", NAME).stdout
    assert API in out and DB in out and WEB not in out, out
    assert bus.get_property("ProjectCount") == 2
    assert bus.get_property("State") == "disconnected"
    assert bus.get_property("LastHeartbeat") >= before
    assert bus.get_property("Services", path=DB, iface=PROJECT_IFACE) == [["pg", "running", "0123"]]

    monitor.wait_signal("InterfacesAdded", lambda d: d[0] == API)
    monitor.wait_signal("InterfacesRemoved", lambda d: d[0] == WEB and d[1] == [PROJECT_IFACE])
    monitor.wait_signal("ProjectChanged", lambda d: d == ["db", "Running"])
    monitor.wait_signal("ProjectChanged", lambda d: d == ["api", "Scheduled"])
    monitor.wait_signal("ProjectChanged", lambda d: d == ["web-app", ""])
    monitor.wait_signal("PropertiesChanged",
                        lambda d: d[0] == IFACE and d[1].get("State", {}).get("data") == "disconnected")
    monitor.wait_signal("PropertiesChanged",
                        lambda d: d[0] == PROJECT_IFACE and d[1].get("Phase", {}).get("data") == "Running")
    # Nothing changed: no signal besides the heartbeat.
    n = len(monitor.signals("ProjectChanged"))
    bus.call("Reconcile")
    harness.wait_line("RECONCILED")
    bus.call("ListProjects")  # a round trip after which any signal would have arrived
    assert len(monitor.signals("ProjectChanged")) == n


def test_name_taken():
    second = t.Harness(bus, t.sample_projects(), wait=False)
    rc = second.proc.wait(15)
    second.stop()
    assert rc == 1 and "org.caravanserai.Agent" in second.stderr, (rc, second.stderr)


def test_builtin_json_and_clean_shutdown():
    global harness
    assert harness.stop() == 0, harness.stderr
    out = bus.busctl("list", "--acquired").stdout
    assert NAME not in out, out
    harness = t.Harness(bus, t.sample_projects(), extra=["--builtin-json"])
    # Without the agent's callback: the status in the API's wire format, from what it was told.
    doc = json.loads(bus.call("GetProject", "s", "web-app")[0])
    assert doc["phase"] == "Running" and doc["nodeRef"] == "node-1", doc
    assert [(s["name"], s["state"], s["containerId"], s.get("restartCount", 0))
            for s in doc["services"]] == [("app", "running", "c0ffee", 3),
                                          ("cache", "running", "beef42", 0)], doc

def test_reconnects_after_bus_restart():
    global monitor
    monitor.close()  # busctl monitor ends with the daemon anyway
    monitor = None
    bus.restart()
    # The agent notices, connects again and re-acquires its name, objects intact.
    t.wait_until(lambda: bus.busctl("get-property", NAME, PATH, IFACE, "NodeName",
                                    check=False).stdout.strip() == 's "node-1"',
                 "the name on the restarted bus", timeout=30, interval=0.2)
    assert WEB in bus.busctl("tree", NAME).stdout
    assert [p[0] for p in bus.call("ListProjects")[0]] == ["db", "web-app"]
    assert bus.call("Reconcile") is None
    harness.wait_line("RECONCILED")
    assert harness.stop() == 0, harness.stderr
    assert "Reconnected to the system bus" in harness.stderr, harness.stderr


try:
    harness = t.Harness(bus, t.sample_projects())
    monitor = t.Monitor(bus)
    t.main([
        test_introspect_lists_interface,
        test_properties,
        test_tree_shows_projects,
        test_list_projects,
        test_project_object,
        test_get_project,
        test_restart,
        test_non_root_reads_but_may_not_reconcile,
        test_reconcile_changes_objects_and_signals,
        test_name_taken,
        test_builtin_json_and_clean_shutdown,
        test_reconnects_after_bus_restart,
    ])
except BaseException:
    if harness is not None:
        harness.stop()
        print("--- bus-harness stderr ---\n" + harness.stderr)
        harness = None
    raise
finally:
    if monitor is not None:
        monitor.close()
    if harness is not None:
        harness.stop()
    bus.close()
