# SPDX-License-Identifier: Apache-2.0
"""The shipped bus policy (dbus/org.caravanserai.Agent.conf, as built) on a system-style bus whose
default policy is Debian's system.conf: non-root callers may introspect, read properties and call
the read-only methods, and the bus itself refuses them Reconcile and Restart; root may call
everything; only the agent's user may own the name."""

import json
import sys

import dbus_testlib as t
from dbus_testlib import IFACE, NAME, PATH, PROJECT_IFACE

t.require_tools()
WEB = PATH + "/project/web_2dapp"
DENIED = "org.freedesktop.DBus.Error.AccessDenied"


def test_nobody_cannot_own_the_name():
    h = t.Harness(bus, t.sample_projects(), user="nobody", wait=False)
    rc = h.proc.wait(15)
    h.stop()
    assert rc == 1 and NAME in h.stderr, (rc, h.stderr)


def test_nobody_reads():
    assert bus.get_property("NodeName", user="nobody") == "node-1"
    props = bus.busctl_json("call", NAME, PATH, "org.freedesktop.DBus.Properties", "GetAll", "s",
                            IFACE, user="nobody")["data"][0]
    assert props["State"]["data"] == "ready", props
    out = bus.busctl("introspect", NAME, PATH, user="nobody").stdout
    assert IFACE in out, out
    out = bus.busctl("tree", NAME, user="nobody").stdout
    assert WEB in out, out
    assert bus.call("ListProjects", user="nobody")[0][1][0] == "web-app"
    doc = json.loads(bus.call("GetProject", "s", "web-app", user="nobody")[0])
    assert doc["name"] == "web-app"
    managed = bus.call("GetManagedObjects", iface="org.freedesktop.DBus.ObjectManager",
                       user="nobody")[0]
    assert WEB in managed
    assert bus.get_property("Services", path=WEB, iface=PROJECT_IFACE, user="nobody")[0][0] == "app"


def test_nobody_refused_reconcile_and_restart():
    p = bus.busctl("call", NAME, PATH, IFACE, "Reconcile", user="nobody", check=False)
    assert p.returncode != 0, p.stdout
    assert bus.call_error("org.caravanserai.Agent1.Reconcile", user="nobody") == DENIED
    # Refused by dbus-daemon's policy, before reaching the agent.
    assert "Rejected send message" in bus.last_error_message, bus.last_error_message
    assert bus.call_error("org.caravanserai.Project1.Restart", "string:app", path=WEB,
                          user="nobody") == DENIED
    # Setting a property is not open to everyone either (and none is writable).
    assert bus.call_error("org.freedesktop.DBus.Properties.Set", f"string:{IFACE}",
                          "string:State", "variant:string:ready", user="nobody") == DENIED


def test_root_may_reconcile_and_restart():
    assert bus.call("Reconcile") is None
    # The denied calls above never reached the agent: this is its first reconcile.
    assert harness.wait_line("RECONCILED") == "RECONCILED 1"
    bus.call("Restart", "s", "app", path=WEB, iface=PROJECT_IFACE)
    assert harness.wait_line("RESTART") == "RESTART web-app app"


def test_clean_shutdown():
    global harness
    h, harness = harness, None
    rc = h.stop()
    assert rc == 0, (rc, h.stderr)  # also catches sanitizer reports at exit
    assert NAME not in bus.busctl("list", "--acquired").stdout


bus = t.PrivateBus(system_style=True, include=[t.policy_file()])
harness = None
try:
    harness = t.Harness(bus, t.sample_projects())
    t.main([
        test_nobody_cannot_own_the_name,
        test_nobody_reads,
        test_nobody_refused_reconcile_and_restart,
        test_root_may_reconcile_and_restart,
        test_clean_shutdown,
    ])
except BaseException:
    if harness is not None:
        harness.stop()
        print("--- bus-harness stderr ---\n" + harness.stderr, file=sys.stderr)
        harness = None
    raise
finally:
    if harness is not None:
        harness.stop()
    bus.close()
