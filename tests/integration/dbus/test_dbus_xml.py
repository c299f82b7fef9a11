# SPDX-License-Identifier: Apache-2.0
"""The running agent object's introspection matches the shipped contract
dbus/org.caravanserai.Agent1.xml (both normalised: interfaces org.caravanserai.*, their methods
with argument names/types/directions, properties with type/access/EmitsChangedSignal, signals)."""

import os
import sys

import dbus_testlib as t
from dbus_testlib import NAME, PATH, diff, normalise, parse

t.require_tools()


def test_introspection_matches_shipped_xml():
    with open(os.path.join(t.SOURCE_DIR, "dbus", "org.caravanserai.Agent1.xml")) as f:
        shipped = normalise(parse(f.read()))
    assert set(shipped) == {"org.caravanserai.Agent1", "org.caravanserai.Project1"}, shipped

    running = {}
    agent_xml = bus.busctl("introspect", "--xml-interface", NAME, PATH).stdout
    running.update(normalise(parse(agent_xml)))
    project_xml = bus.busctl("introspect", "--xml-interface", NAME, PATH + "/project/web_2dapp").stdout
    running.update(normalise(parse(project_xml)))

    problems = diff(running, shipped)
    assert not problems, "introspection differs from dbus/org.caravanserai.Agent1.xml:\n" + \
        "\n".join(problems)


bus = t.PrivateBus()
harness = None
try:
    harness = t.Harness(bus, t.sample_projects())
    t.main([test_introspection_matches_shipped_xml])
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
