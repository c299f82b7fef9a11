# SPDX-License-Identifier: Apache-2.0
"""The running agent object's introspection matches the shipped contract
dbus/org.caravanserai.Agent1.xml (both normalised: interfaces org.caravanserai.*, their methods
with argument names/types/directions, properties with type/access/EmitsChangedSignal, signals)."""

import os
import sys
import xml.etree.ElementTree as ET

import dbus_testlib as t
from dbus_testlib import NAME, PATH

t.require_tools()
EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def parse(text):
    # ElementTree does not fetch DTDs; drop the DOCTYPE so it does not try.
    text = "\n".join(l for l in text.splitlines() if not l.startswith(("<!DOCTYPE", '"http')))
    return ET.fromstring(text)


def normalise(root):
    out = {}
    for iface in root.iter("interface"):
        name = iface.get("name")
        if not name.startswith("org.caravanserai."):
            continue
        members = {}
        for m in iface.findall("method"):
            members["method " + m.get("name")] = [
                (a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
        for s in iface.findall("signal"):
            members["signal " + s.get("name")] = [(a.get("name"), a.get("type"))
                                                  for a in s.findall("arg")]
        for p in iface.findall("property"):
            emits = "true"
            for a in p.findall("annotation"):
                if a.get("name") == EMITS:
                    emits = a.get("value")
            members["property " + p.get("name")] = (p.get("type"), p.get("access"), emits)
        out[name] = members
    return out


def diff(a, b):
    lines = []
    for iface in sorted(set(a) | set(b)):
        ma, mb = a.get(iface, {}), b.get(iface, {})
        for k in sorted(set(ma) | set(mb)):
            if ma.get(k) != mb.get(k):
                lines.append(f"{iface} {k}: running={ma.get(k)!r} shipped={mb.get(k)!r}")
    return lines


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
