# SPDX-License-Identifier: Apache-2.0
"""caractrl events against a real cara-server (SPEC §11): the LAST SEEN TYPE REASON OBJECT MESSAGE
table oldest first, --project/--node/--type/--since, -o json, -w printing new events as they come,
bad values refused with exit 2 or the server's message, and the last events in status and
describe."""

import os
import queue
import threading
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import CTL, Ctl, check  # noqa: E402
from cara_server import CaraServer, postgres, wait_until  # noqa: E402


def report(srv, node, reason, project, message, type_="Normal"):
    st, body = srv.json("POST", "/api/v1/nodes/%s/events" % node,
                        {"type": type_, "reason": reason, "object": {"kind": "Project", "name": project},
                         "message": message})
    check(st == 201, "event reported", st, body)


def main():
    with postgres() as pg, CaraServer(database_url=pg.create_database("ctlevents")) as srv, Ctl(srv.url) as ctl:
        st, _ = srv.json("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}})
        check(st == 201, "node created", st)
        srv.json("POST", "/api/v1/nodes/n1/heartbeat", {"state": "Ready"})
        ctl.ok("apply", "-f", ctl.file("web.yaml", "apiVersion: caravanserai/v1\nkind: Project\nmetadata:\n"
                                       "  name: web\nspec:\n  services:\n    - name: db\n      image: busybox\n"))
        wait_until(lambda: "Scheduled" in ctl.ok("events").out, what="Scheduled event")
        report(srv, "n1", "Started", "web", "Started container abc of service db")
        report(srv, "n1", "Killed", "web", "Container web-db of service db was killed: out of memory", "Warning")
        report(srv, "n1", "Pulled", "other", "Pulled image busybox")

        out = ctl.ok("events").out.splitlines()
        check(out[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "header", out)
        reasons = [l.split()[2] for l in out[1:]]
        check(reasons == ["Scheduled", "Started", "Killed", "Pulled"], "oldest first", out)
        killed = [l for l in out if "Killed" in l][0]
        check(killed.split()[1] == "Warning" and "project/web" in killed and "out of memory" in killed, "row", killed)
        check(killed.split()[0].endswith("s"), "LAST SEEN is an age", killed)

        web = ctl.ok("events", "--project", "web").out
        check("other" not in web and "Killed" in web, "--project", web)
        warn = ctl.ok("events", "--type", "Warning", "--no-legend").out.splitlines()
        check(len(warn) == 1 and "Killed" in warn[0], "--type Warning", warn)
        check(ctl.ok("events", "--node", "n9").err.strip() == "No events found.", "empty")
        check("Killed" in ctl.ok("events", "--since", "1h").out, "--since 1h")
        check(ctl.ok("events", "--since", "2999-01-01T00:00:00Z").out == "", "--since in the future")
        j = ctl.ok("events", "-o", "json", "--project", "web").json()
        check([e["reason"] for e in j["items"]] == ["Scheduled", "Started", "Killed"], "-o json", j)
        check(ctl.ok("events", "-o", "name", "--project", "web").out.splitlines() == ["project/web"] * 3, "-o name")
        bad = ctl.expect(2, "events", "--since", "soon")
        check("since" in bad.err, "a bad --since: the server's message", bad)
        ctl.expect(2, "events", "--type", "Info")
        ctl.expect(2, "events", "extra")

        # status and describe end with the project's last events
        status = ctl.ok("status", "project", "web", "--no-pager").out
        check("Killed" in status and "out of memory" in status and "Events:" in status, "status", status)
        check("other" not in status, "status: only the project's", status)
        desc = ctl.ok("describe", "project", "web").out
        events = desc.split("Events:", 1)[1].splitlines()
        check(events[1].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"] and "Killed" in desc.split("Events:", 1)[1],
              "describe", desc)
        check("Events:" in ctl.ok("describe", "node", "n1").out, "describe node")

        # -w: what there is, then new events as they happen
        p = subprocess.Popen([CTL, "events", "-w", "--project", "web"], env=dict(ctl.env, CARA_SERVER=srv.url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = []
            # Lines read on a thread: select() on the pipe would miss a line already in the
            # reader's buffer (the header and the first row often come in one read).
            lines = queue.Queue()
            threading.Thread(target=lambda: [lines.put(l) for l in p.stdout], daemon=True).start()

            def line_with(word):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        line = lines.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    seen.append(line)
                    if word in line:
                        return line
                raise AssertionError("no %s line in %r" % (word, seen))
            line_with("Killed")
            report(srv, "n1", "Unhealthy", "web", "Service db failed its healthcheck", "Warning")
            report(srv, "n1", "Pulled", "other", "not this one")
            line = line_with("Unhealthy")
            check("project/web" in line and "Warning" in line, "-w row", line)
            check(not any("other" in l for l in seen), "-w filters", seen)
        finally:
            p.terminate()
            p.wait(10)
        # completion of --project names
        comp = ctl.ok("__complete", "events", "--project", "").out.split()
        check("web" in comp, "--project completes project names", comp)
    print("ok")


if __name__ == "__main__":
    main()
