# SPDX-License-Identifier: Apache-2.0
"""Database failover (SPEC §16): two cara-servers on a libpq multi-host DATABASE_URL with
target_session_attrs=read-write, a real PostgreSQL primary and a streaming standby, one client per
server writing continuously.  The primary is stopped and the standby promoted: every server
carries on against the new primary within 10 s, answers 503 meanwhile (never 500, never a hang),
every write that got a 2xx is in the promoted database, and the controllers (leadership is an
advisory lock, so it moves with the database) schedule again."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "controllers"))
import cara_fixtures  # noqa: E402
from ctrl_helpers import Api, Heartbeater  # noqa: E402
from cara_fixtures import fail, http_json, wait_until  # noqa: E402
from cara_server import CaraServer  # noqa: E402

RECONNECT_LIMIT = 10.0   # seconds from the promotion to the first 2xx of each server
REQUEST_TIMEOUT = 8.0    # a request that takes longer counts as a hang


class Writer(threading.Thread):
    """Creates projects one after another; remembers what was acknowledged and what else came."""

    def __init__(self, srv, tag):
        super().__init__(daemon=True)
        self.srv, self.tag = srv, tag
        self.acked = []          # names that got a 2xx
        self.answers = []        # (monotonic time, status or exception text)
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            name = "%s-%05d" % (self.tag, i)
            i += 1
            body = {"apiVersion": "caravanserai/v1", "kind": "Project", "metadata": {"name": name},
                    "spec": {"services": [{"name": "web", "image": "busybox"}]}}
            t = time.monotonic()
            try:
                status, _, _ = http_json("POST", self.srv.url + "/api/v1/projects", body, timeout=REQUEST_TIMEOUT)
            except Exception as e:  # noqa: BLE001 (a timeout or a reset: recorded, judged below)
                status = "%s after %.1f s" % (type(e).__name__, time.monotonic() - t)
            self.answers.append((t, status))
            if status in (200, 201):
                self.acked.append(name)
            elif status == 503:
                time.sleep(0.05)

    def first_ack_after(self, t0):
        return next((t for t, s in self.answers if t >= t0 and s in (200, 201)), None)


def main():
    primary = cara_fixtures.Postgres()
    standby = primary.standby()
    url = ("postgresql:///postgres?host=%s,%s&port=%d,%d&user=postgres&target_session_attrs=read-write"
           "&connect_timeout=2" % (primary.socket_dir, standby.socket_dir, primary.port, standby.port))
    env = {"NODE_HEARTBEAT_TIMEOUT": "5s", "RESYNC_INTERVAL": "1s"}
    with CaraServer(database_url=url, env=env) as a, CaraServer(database_url=url, env=env) as b:
        Api(a).node("n1", heartbeat=True)
        beats = Heartbeater(Api(a), ["n1"])
        writers = [Writer(a, "a"), Writer(b, "b")]
        for w in writers:
            w.start()
        wait_until(lambda: all(len(w.acked) >= 20 for w in writers), timeout=30, what="writes before the failover")

        primary.stop("fast")    # a clean shutdown: the standby has received all WAL the primary wrote
        t_stop = time.monotonic()
        standby.promote()
        t_promoted = time.monotonic()
        print("primary stopped, standby promoted after %.2f s" % (t_promoted - t_stop))

        wait_until(lambda: all(w.first_ack_after(t_promoted) for w in writers), timeout=RECONNECT_LIMIT + 5,
                   what="every server writing to the promoted database")
        time.sleep(1.0)
        for w in writers:
            w.stopping.set()
        for w in writers:
            w.join(REQUEST_TIMEOUT + 2)

        problems = []
        for w in writers:
            back = w.first_ack_after(t_promoted) - t_promoted
            print("server %s: %d writes acknowledged, back %.2f s after the promotion" % (w.tag, len(w.acked), back))
            if back > RECONNECT_LIMIT:
                problems.append("server %s took %.1f s (> %.0f s) to write again" % (w.tag, back, RECONNECT_LIMIT))
            odd = [(round(t - t_stop, 2), s) for t, s in w.answers if s not in (200, 201, 503)]
            if odd:
                problems.append("server %s answered other than 2xx/503 (s after the stop, answer): %s" % (w.tag, odd[:10]))
            n503 = sum(1 for _, s in w.answers if s == 503)
            print("server %s: %d answers 503 during the failover" % (w.tag, n503))

        stored = set(standby.psql("SELECT name FROM projects WHERE name NOT LIKE 'after-%'").split())
        for w in writers:
            lost = [n for n in w.acked if n not in stored]
            if lost:
                problems.append("server %s: %d acknowledged writes missing after the promotion: %s"
                                % (w.tag, len(lost), lost[:10]))
        # The leader (whichever server) holds its lock on the new primary and schedules again.
        Api(b).project("after-failover")
        try:
            Api(b).wait_project("after-failover", lambda p: p["status"].get("phase") == "Scheduled", timeout=15)
        except Exception as e:  # noqa: BLE001
            problems.append("no scheduling after the failover: %s" % e)
        beats.stop()
        # Reads answer from the new primary too.
        for srv in (a, b):
            status, _, body = http_json("GET", srv.url + "/api/v1/projects")
            if status != 200 or len(body["items"]) != len(stored) + 1:
                problems.append("GET /api/v1/projects on %s: %s, %s items, database has %d"
                                % (srv.url, status, len((body or {}).get("items", [])), len(stored)))
        if problems:
            fail("\n".join(problems))
        print("ok: %d acknowledged writes, all in the promoted database" % sum(len(w.acked) for w in writers))


if __name__ == "__main__":
    main()
