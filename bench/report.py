#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes RESULTS.md and the PNG plots (gnuplot) from the JSON that cara_bench.py collected.

    bench/report.py RESULTS.json OUT_DIR      # OUT_DIR/RESULTS.md, OUT_DIR/plots/*.png

bench/analysis.md (hand-written: why Caravanserai is slower where it is, and what would close the
gap) is included as the last section."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import median, pct  # noqa: E402

DEPLOY_SYSTEMS = [
    ("raw", "Docker Engine API (floor)"),
    ("cara_watch", "Caravanserai: apply → Running on the watch"),
    ("cara_ctl", "Caravanserai: `caractrl apply --wait` returns"),
    ("compose", "docker-compose up -d"),
    ("swarm", "Docker Swarm service(s)"),
]
BULK_SYSTEMS = [("raw", "Docker Engine API (floor)"), ("cara", "Caravanserai"), ("swarm", "Docker Swarm")]


def ms(v, digits=0):
    return "–" if v is None else ("%.*f ms" % (digits, v * 1000))


def sec(v, digits=1):
    return "–" if v is None else "%.*f s" % (digits, v)


def ratio(v, floor):
    if v is None or not floor:
        return "–"
    return "%.2f×" % (v / floor)


def mib(v):
    return "–" if v is None else "%.1f MiB" % v


def load(s):
    if not s:
        return ""
    a, b = s.get("load_start"), s.get("load_end")
    if a and b:
        return "load average (1/5/15 min) %s at the start, %s at the end" % ("/".join("%.1f" % x for x in a),
                                                                            "/".join("%.1f" % x for x in b))
    return ""


class Plots:
    def __init__(self, out):
        self.out = out
        self.dir = os.path.join(out, "plots")
        os.makedirs(self.dir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="cara-bench-plot-")
        self.ok = shutil.which("gnuplot") is not None
        self.made = []

    def data(self, name, rows):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for r in rows:
                f.write(" ".join(str(x) for x in r) + "\n")
        return path

    def plot(self, name, script, size="900,480"):
        if not self.ok:
            return None
        png = os.path.join(self.dir, name + ".png")
        full = ('set terminal pngcairo size %s font "DejaVu Sans,10" noenhanced\nset output "%s"\n'
                'set grid ytics lc rgb "#dddddd"\nset border 3\nset tics nomirror\nset key noenhanced\n%s\n'
                % (size, png, script))
        r = subprocess.run(["gnuplot"], input=full, text=True, capture_output=True)
        if r.returncode != 0:
            sys.stderr.write("gnuplot failed for %s:\n%s\n%s\n" % (name, r.stderr, full))
            return None
        self.made.append(png)
        return "plots/%s.png" % name

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def deploy_section(d, p, md):
    sysd = d["systems"]
    floor = {n: median(sysd["raw"][n]) for n in ("1", "2")}
    md.append("## 1. Deploy latency (image present locally)\n")
    md.append("%d runs of each, interleaved (floor, Compose, Caravanserai, the order rotated every run, a 0.5 s pause "
              "after each teardown since dockerd goes on cleaning up after it answers; Swarm in a window of its own "
              "after the others, since a swarm changes the daemon), after one warm-up deploy that is not counted. Every container runs the same idle command (`sh -c \"trap 'exit 0' TERM; sleep 86400 & wait\"` "
              "on the busybox test image). %s.\n" % (d["runs"], load(d)))
    md.append("- **Floor**: the Docker Engine API over `/var/run/docker.sock` from one keep-alive connection: "
              "`POST /networks/create` (bridge, explicit /26 subnet), then per service `POST /containers/create` + "
              "`POST /containers/{id}/start`; timed until the last start returns.")
    md.append("- **Caravanserai** (authentication on): `caractrl apply -f project.json --wait` against one server and "
              "one agent on this machine. Two figures from the same deploy: when a client watching "
              "`GET /api/v1/projects?watch=true` sees phase `Running` (what the system delivers), and when "
              "`caractrl apply --wait` returns (what the user waits). Both timed from the moment `caractrl` is started.")
    md.append("- **docker-compose** %s: `docker-compose -p NAME -f FILE up -d` with the same services and a network "
              "with an explicit subnet; timed until the command returns (the containers are started by then)."
              % "1.29")
    md.append("- **Docker Swarm**: `docker service create --detach --no-resolve-image` (1 service), or an overlay "
              "network plus two services on it (2 services, what `docker stack deploy` makes so that services find "
              "each other); timed until Docker's event stream shows every task's container started.\n")
    rows = []
    md.append("| system | 1 service (median, min–max) | ratio to floor | 2 services (median, min–max) | ratio to floor |")
    md.append("|---|---|---|---|---|")
    for key, label in DEPLOY_SYSTEMS:
        if key not in sysd:
            continue
        cells = []
        meds = []
        for n in ("1", "2"):
            v = sysd[key][n]
            m = median(v)
            meds.append(m)
            cells.append("**%s** (%s–%s)" % (ms(m), ms(min(v)) if v else "–", ms(max(v)) if v else "–"))
            cells.append(ratio(m, floor[n]))
        md.append("| %s | %s |" % (label, " | ".join(cells)))
        rows.append((key, label, meds))
    md.append("")
    # Stage breakdown.
    st = d.get("stages", {})
    if st.get("cara", {}).get("1"):
        md.append("Where the time goes (medians, ms from the start of the deploy; Docker's own event timestamps):\n")
        keys = [("scheduled", "project `Scheduled` (watch)"), ("network_create", "network created (Docker event)"),
                ("first_container_create", "first container created"), ("last_container_start", "last container started"),
                ("running_seen", "`Running` seen on the watch"), ("ctl_returned", "`caractrl apply --wait` returned")]
        md.append("| stage | floor, 1 svc | Caravanserai, 1 svc | floor, 2 svc | Caravanserai, 2 svc |")
        md.append("|---|---|---|---|---|")
        for k, label in keys:
            cells = []
            for n in ("1", "2"):
                for sysk in ("raw", "cara"):
                    vals = [s.get(k) for s in st.get(sysk, {}).get(n, [])]
                    m = median(vals)
                    if sysk == "raw" and k == "last_container_start" and m is None:
                        m = median(sysd["raw"][n]) * 1000
                    cells.append("–" if m is None else "%.0f" % m)
            md.append("| %s | %s |" % (label, " | ".join(cells)))
        md.append("")
    # Plot: every run as a point, median as a bar.
    if rows:
        data = []
        pts = []
        for i, (key, label, meds) in enumerate(rows):
            data.append((i, '"%s"' % label.replace("`", "").replace("Caravanserai: ", "Cara: "), meds[0] or 0, meds[1] or 0))
            for n, off in (("1", -0.18), ("2", 0.18)):
                for v in sysd[key][n]:
                    pts.append((i + off, v, n))
        f1 = p.data("deploy_med.dat", data)
        f2 = p.data("deploy_pts1.dat", [(x, y) for x, y, n in pts if n == "1"])
        f3 = p.data("deploy_pts2.dat", [(x, y) for x, y, n in pts if n == "2"])
        img = p.plot("deploy", """
set title "Deploy latency, image present (bars: median; points: each run)"
set ylabel "seconds"
set yrange [0:*]
set style fill solid 0.35 border -1
set boxwidth 0.34
set xtics rotate by -15
set key top left
plot "%s" using ($1-0.18):3:xtic(2) with boxes lc rgb "#4477aa" title "1 service", \\
     "%s" using ($1+0.18):4 with boxes lc rgb "#ee6677" title "2 services", \\
     "%s" using 1:2 with points pt 7 ps 0.6 lc rgb "#223355" notitle, \\
     "%s" using 1:2 with points pt 7 ps 0.6 lc rgb "#772233" notitle
""" % (f1, f1, f2, f3), size="1000,500")
        if img:
            md.append("![deploy latency](%s)\n" % img)


def bulk_section(b, p, md):
    md.append("## 2. Bulk deploy\n")
    md.append("N single-container projects at once from 8 parallel clients, until all are running, then all removed "
              "(teardown) before the next system starts. One run of every system at each size first, then extra "
              "runs of the floor and Caravanserai at 100 while the run's time limit allows. %s.\n" % load(b))
    if b.get("skipped"):
        md.append("Skipped for the time limit: %s.\n" % "; ".join(b["skipped"]))
    for sup in b.get("supplements", []):
        md.append("Runs added afterwards by `%s` (%s; %s).\n" % (sup["command"], sup["date"], load(sup)))
    md.append("- **Floor**: 8 threads, each doing for its share what the floor does above (network with an explicit "
              "subnet, container create, start) over the Docker socket.")
    md.append("- **Caravanserai**: 8 threads `POST /api/v1/projects` (keep-alive, admin token) to one server with one "
              "agent; done when the watch has shown every project `Running`.")
    md.append("- **Docker Swarm**: 8 threads running `docker service create --detach --no-resolve-image` (one service "
              "each, no network of its own: swarm puts such tasks on the default bridge); done when every task's "
              "container has started (Docker events). Swarm therefore creates N fewer networks than the other two.")
    md.append("- **Per project**: the time from the start of the bulk until that project runs (the same clock for "
              "all three: where the queue is — in the client threads for the floor and Swarm, in the agent for "
              "Caravanserai — does not matter).\n")
    md.append("| N | system | runs | all running (median) | ratio to floor | per project p50 / p99 | teardown (median) "
              "| 1-min load after each run |")
    md.append("|---|---|---|---|---|---|---|---|")
    scaling = []
    for n in b.get("sizes", []):
        n = str(n)
        floor = median([r["total"] for r in b.get("raw", {}).get(n, [])])
        row = [int(n)]
        for key, label in BULK_SYSTEMS:
            runs = b.get(key, {}).get(n, [])
            if not runs:
                row.append("NaN")
                continue
            tot = median([r["total"] for r in runs])
            lats = [x for r in runs for x in r["lat"]]
            md.append("| %s | %s | %d | **%s** | %s | %s / %s | %s | %s |" % (
                n, label, len(runs), sec(tot), ratio(tot, floor), sec(pct(lats, 50)), sec(pct(lats, 99)),
                sec(median([r.get("teardown") for r in runs])),
                ", ".join("%.1f" % r["load"][0] for r in runs if r.get("load"))))
            row.append(tot)
        scaling.append(row)
    md.append("")
    calls = ["%s: %.1f to all ServicesReady, %.1f to tear down" % (
        n, median([r["docker_calls"] for r in b["cara"][str(n)] if "docker_calls" in r]),
        median([r["docker_calls_teardown"] for r in b["cara"][str(n)] if "docker_calls_teardown" in r]))
        for n in b.get("sizes", []) if any("docker_calls" in r for r in b.get("cara", {}).get(str(n), []))]
    if calls:
        md.append("Docker Engine API calls per project made by the agent (median of the runs; the floor makes 3 "
                  "to deploy and 2 to tear down): %s.\n" % "; ".join(calls))
    if scaling:
        f = p.data("bulk_scaling.dat", scaling)
        img = p.plot("bulk_scaling", """
set title "Bulk deploy: N single-container projects, 8 clients, until all run"
set xlabel "projects (N)"
set ylabel "seconds until all are running"
set key top left
set xrange [0:*]
set yrange [0:*]
plot "%s" using 1:2 with linespoints pt 7 lw 2 title "Docker Engine API (floor)", \\
     "%s" using 1:3 with linespoints pt 5 lw 2 title "Caravanserai", \\
     "%s" using 1:4 with linespoints pt 9 lw 2 title "Docker Swarm"
""" % (f, f, f))
        if img:
            md.append("![bulk scaling](%s)\n" % img)
        big = str(max(b.get("sizes", [0])))
        curves = []
        for key, label in BULK_SYSTEMS:
            runs = b.get(key, {}).get(big, [])
            if runs:
                lat = sorted(runs[-1]["lat"])
                fn = p.data("bulk_cdf_%s.dat" % key, [(v, (i + 1) / len(lat)) for i, v in enumerate(lat)])
                curves.append('"%s" using 1:2 with lines lw 2 title "%s"' % (fn, label))
        if curves:
            img = p.plot("bulk_cdf", """
set title "Bulk deploy of %s: when each project runs, from the start of the bulk (CDF, last run)"
set xlabel "seconds"
set ylabel "fraction of projects"
set key bottom right
set yrange [0:1]
plot %s
""" % (big, ", ".join(curves)))
            if img:
                md.append("![bulk latency distribution](%s)\n" % img)


def control_section(c, s, p, md):
    md.append("## 3. Control plane\n")
    md.append("One `cara-server` (its default HTTP worker threads, authentication on) on a private PostgreSQL 15, holding "
              "%d simulated nodes and %d projects (each placed on a node by the scheduler). `wrk` (2 threads; 1 for "
              "the list) for %s per run, %d runs; medians of the runs. %s.\n"
              % (c.get("sim_nodes", 0), c.get("projects", 0),
                 "%d s" % (c["get"][0]["duration_us"] / 1e6) if c.get("get") else "?", len(c.get("get", [])), load(c)))
    if c.get("get"):
        md.append("| request | connections | requests/s | p50 | p90 | p99 | max | errors |")
        md.append("|---|---|---|---|---|---|---|---|")
        for key, label, conns in (("get", "`GET /api/v1/projects/{name}` (random name of %d)" % c["projects"], 8),
                                  ("list", "`GET /api/v1/projects` (all %d, %.1f MB)" % (c["projects"], c.get("list_bytes", 0) / 1e6), 2),
                                  ("heartbeat", "`POST /api/v1/nodes/{name}/heartbeat` (%d nodes in turn)" % c["sim_nodes"], 8)):
            runs = c[key]
            errs = sum(sum(r["errors"].values()) for r in runs)
            md.append("| %s | %d | **%.1f** | %.1f ms | %.1f ms | %.1f ms | %.0f ms | %d |" % (
                label, conns, median([r["rps"] for r in runs]), median([r["p50_ms"] for r in runs]),
                median([r["p90_ms"] for r in runs]), median([r["p99_ms"] for r in runs]),
                max(r["max_ms"] for r in runs), errs))
        md.append("")
        hb = median([r["rps"] for r in c["heartbeat"]])
        md.append("Heartbeats authenticate with **%s**. %.0f heartbeats/s would carry about %d nodes at the agents' "
                  "default 10 s interval; %d nodes need %.0f/s (%.0f× headroom); SPEC §16's target is ≥ 10,000/s: **%s**. "
                  "A heartbeat that changes nothing but the time is answered from memory and its time written "
                  "with the others in one statement a few times per heartbeat timeout: no event, no NOTIFY, no "
                  "new resourceVersion (`src/server/heartbeat-batch.c`).\n"
                  % (c.get("heartbeat_auth", "?"), hb, int(hb * 10), c["sim_nodes"], c["sim_nodes"] / 10.0,
                     hb / (c["sim_nodes"] / 10.0), "met" if hb >= 10000 else "not met"))
        md.append("Populating: %d nodes registered in %.1f s; %d projects created by 8 clients in %.1f s (**%.0f "
                  "creates/s**), all `Scheduled` %.1f s after the first POST.\n"
                  % (c["sim_nodes"], c.get("register_s", 0), c["projects"], c.get("create_s", 0),
                     c.get("created_per_s", 0), c.get("all_scheduled_s", 0)))
        if c.get("create"):
            cr = median([r["rps"] for r in c["create"]])
            md.append("Project creates, `POST /api/v1/projects` by **%d clients** (wrk, 4 threads, a new name per request), "
                      "after the runs above: **%.0f creates/s** (target ≥ %d/s: %s), p50 %.1f ms, p99 %.1f ms, %d answers "
                      "not 201. Concurrent creates share a transaction (group commit).\n"
                      % (c.get("create_clients", 16), cr, c.get("create_target", 3000),
                         "met" if cr >= c.get("create_target", 3000) else "not met",
                         median([r["p50_ms"] for r in c["create"]]), median([r["p99_ms"] for r in c["create"]]),
                         sum(r.get("status_errors", 0) for r in c["create"])))
            if c.get("create_baseline"):
                pairs = ", ".join("%.0f/s against %.0f/s (%.2f×)" % (a["rps"], b_["rps"], a["rps"] / max(1, b_["rps"]))
                                  for a, b_ in zip(c["create"], c["create_baseline"]))
                md.append("The same creates on the baseline server `%s`, populated the same way, run for run in "
                          "turn: %s.\n" % (c.get("create_baseline_server", "?"), pairs))
        curves = []
        for key, label in (("get", "GET one project"), ("list", "GET list of all"), ("heartbeat", "heartbeat")):
            dist = c[key][-1]["dist"]
            fn = p.data("cp_%s.dat" % key, [(pp, v) for pp, v in dist if v > 0 and pp < 100])
            curves.append('"%s" using 1:2 with linespoints pt 7 ps 0.5 lw 2 title "%s"' % (fn, label))
        img = p.plot("control_latency", """
set title "Control plane latency distribution (wrk, last run)"
set xlabel "percentile"
set ylabel "latency (ms, log scale)"
set logscale y
set key top left
set xrange [0:100]
plot %s
""" % ", ".join(curves))
        if img:
            md.append("![control plane latency](%s)\n" % img)
    if s:
        md.append("**Scheduling throughput** (`%s`, the controllers' benchmark of issue 5, run as it is: its own "
                  "server with authentication off, 1 000 simulated nodes; `--burst` creates every project while "
                  "the nodes are NotReady, then starts the heartbeats, so it measures how fast the scheduler places a "
                  "backlog; %s):\n" % (s.get("bench_command", s.get("command", "")), load(s)))
        md.append("| nodes | projects | scheduled/s | created/s (API) | projects per node | server RSS (peak) |")
        md.append("|---|---|---|---|---|---|")
        md.append("| %s | %s | **%s** | %s | %s | %s MiB |" % (
            s.get("nodes"), s.get("projects"), s.get("scheduled_per_s"), s.get("created_per_s"),
            "–".join(map(str, s.get("projects_per_node_min_max") or [])), s.get("server_peak_rss_mib")))
        md.append("")


def footprint_section(f, p, md):
    md.append("## 4. Footprint\n")
    md.append("Resident memory (`VmRSS`). PostgreSQL is not counted in the server's figure (its processes' "
              "proportional set size is given apart). dockerd and containerd are the machine's own, shared with "
              "whatever else runs on it (other engineers' tests during development). %s.\n" % load(f))
    rows = []
    md.append("| process | idle | loaded | load |")
    md.append("|---|---|---|---|")
    if "server_idle" in f:
        md.append("| `cara-server` | %s | %s (%s after the wrk runs, peak %s) | %s projects, %s nodes |" % (
            mib(f.get("server_idle")), mib(f.get("server_10k")), mib(f.get("server_10k_after_wrk")),
            mib(f.get("server_peak")), f.get("server_10k_projects"), f.get("server_10k_nodes")))
        rows.append(("cara-server", f.get("server_idle") or 0, f.get("server_10k") or 0))
        if f.get("postgres_pss_10k"):
            md.append("| PostgreSQL (all its processes, PSS) | – | %s | the same |" % mib(f["postgres_pss_10k"]))
    if "agent_idle" in f:
        md.append("| `cara-agent` | %s | %s | %d projects running (%s after they are deleted) |" % (
            mib(f["agent_idle"]), mib(f.get("agent_loaded")), f.get("agent_projects", 0), mib(f.get("agent_after"))))
        rows.append(("cara-agent", f["agent_idle"], f.get("agent_loaded") or 0))
        if f.get("agent_loaded_anon"):
            md.append("| `cara-agent`, private memory (`RssAnon`) | %s | %s | the same |" % (
                mib(f.get("agent_idle_anon")), mib(f.get("agent_loaded_anon"))))
        db, dl = f.get("docker_before") or {}, f.get("docker_loaded") or {}
        for k, label in (("dockerd", "`dockerd`"), ("containerd", "`containerd`")):
            md.append("| %s | %s | %s | the same %d containers |" % (label, mib(db.get(k)), mib(dl.get(k)),
                                                                     f.get("agent_projects", 0)))
            rows.append((k, db.get(k) or 0, dl.get(k) or 0))
        md.append("| `containerd-shim-runc-v2` (all) | %s (%d) | %s (%d) | one per container |" % (
            mib(db.get("shims_rss")), db.get("shims", 0), mib(dl.get("shims_rss")), dl.get("shims", 0)))
        rows.append(("shims (all)", db.get("shims_rss") or 0, dl.get("shims_rss") or 0))
        md.append("")
        md.append("The agent's `VmRSS` counts the pages of the shared libraries it is linked with (GLib, GIO, "
                  "json-glib, libmicrohttpd, libcurl-gnutls with libssh2 and OpenSSL, libsystemd): a program "
                  "linked with the same libraries that does nothing is at 10.3 MiB here (12 MiB after "
                  "`curl_global_init`), above SPEC §16's 8 MiB before any line of ours runs; `RssAnon` is what "
                  "the agent itself holds.\n")
        md.append("Idle Docker figures were taken before the benchmark made anything; containers other "
                  "people's tests ran at that moment are included in them.\n")
    idle = f.get("idle_cpu")
    if idle:
        md.append("Idle CPU over %d s (user + system time of all threads, from `/proc/PID/stat`) and wakeups "
                  "(voluntary + involuntary context switches of all threads), the agents heartbeating every 2 s; "
                  "the floor is Docker's own daemons idle in the same window. Target: each daemon < 2%% of a core.\n"
                  % idle["seconds"])
        md.append("| process | CPU (% of a core) | wakeups/s | within target |")
        md.append("|---|---|---|---|")
        for k in ("cara-server", "cara-agent", "cara-agent (D-Bus)", "dockerd", "containerd"):
            v = idle.get(k)
            if v:
                ok = ("yes" if v["cpu_pct"] < 2 else "**no**") if k.startswith("cara") else "(floor)"
                md.append("| `%s` | %.2f | %.1f | %s |" % (k, v["cpu_pct"], v["wakeups_per_s"], ok))
        md.append("")
    if rows:
        fn = p.data("footprint.dat", [('"%s"' % r[0], r[1], r[2]) for r in rows])
        img = p.plot("footprint", """
set title "Resident memory (MiB): idle and loaded"
set ylabel "MiB"
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.5 border -1
set key top left
plot "%s" using 2:xtic(1) title "idle" lc rgb "#4477aa", "" using 3 title "loaded (server: 10 000 projects; agent, Docker: 50 containers)" lc rgb "#ee6677"
""" % fn)
        if img:
            md.append("![footprint](%s)\n" % img)


def failure_section(fl, p, md):
    md.append("## 5. Failure detection\n")
    se = " ".join("`%s=%s`" % kv for kv in fl["server_env"].items())
    ae = " ".join("`%s=%s`" % kv for kv in fl["agent_env"].items())
    md.append("A server started with %s and two agents on this one dockerd (SPEC §5: several agents may share a "
              "daemon) with %s. Each run: agent A is started, the other (B) drained while the project is placed, so "
              "it lands on A, then uncordoned. Times are taken on the server's watch streams (`/api/v1/projects` and "
              "`/api/v1/nodes`). %d runs. %s.\n" % (se, ae, len(fl["container_kill"]), load(fl)))
    md.append("| event | median | min | max | what bounds it |")
    md.append("|---|---|---|---|---|")
    rows = (("container_kill", "`POST /containers/{id}/kill` (= `docker kill`) → the server shows the service not "
             "running / restarted", "Docker's event stream → agent → status report"),
            ("agent_kill_notready", "`kill -9` of the agent → node `NotReady`",
             "`NODE_HEARTBEAT_TIMEOUT` (%s) after the last heartbeat, plus the node-health check"
             % fl["server_env"].get("NODE_HEARTBEAT_TIMEOUT")),
            ("notready_to_running", "`NotReady` → project `Running` on the other node",
             "`RESCHEDULE_GRACE_PERIOD` (%s), scheduling, the other agent's deploy"
             % fl["server_env"].get("RESCHEDULE_GRACE_PERIOD")),
            ("agent_kill_to_running", "`kill -9` of the agent → project `Running` on the other node", "the two above"))
    pts = []
    for i, (k, label, why) in enumerate(rows):
        v = fl[k]
        if not v:
            continue
        md.append("| %s | **%s** | %s | %s | %s |" % (label, sec(median(v), 2), sec(min(v), 2), sec(max(v), 2), why))
        pts += [(i, x) for x in v]
    md.append("")
    if pts:
        fn = p.data("failure.dat", pts)
        img = p.plot("failure", """
set title "Failure detection (each run a point)"
set bmargin 4
set ylabel "seconds"
set yrange [0:*]
set xrange [-0.5:3.5]
set xtics ("container killed\\n-> server shows it" 0, "agent killed\\n-> node NotReady" 1, "NotReady\\n-> Running elsewhere" 2, "agent killed\\n-> Running elsewhere" 3)
plot "%s" using 1:2 with points pt 7 ps 1.2 notitle
""" % fn)
        if img:
            md.append("![failure detection](%s)\n" % img)


def secrets_section(sx, p, md):
    md.append("## 6. Projects using Secrets\n")
    plain = [x["total"] for x in sx["runs"]["plain"]]
    secret = [x["total"] for x in sx["runs"]["secrets"]]
    md.append("%d single-service projects from %d clients, from the first POST to all Running: each with 2 Secrets "
              "(created in the same run, 2 POSTs more per project; one used as `env[].valueFrom`, one as a file in "
              "`secrets[]`), against the same projects with 2 plain `env` values. Runs alternate between the two. "
              "%s.\n" % (sx["projects"], sx["clients"], load(sx)))
    md.append("| variant | median | runs |")
    md.append("|---|---|---|")
    md.append("| plain env | %s | %s |" % (sec(median(plain)), ", ".join(sec(v) for v in plain)))
    md.append("| 2 Secrets each | **%s** (%s) | %s |" % (sec(median(secret)), ratio(median(secret), median(plain)),
                                                    ", ".join(sec(v) for v in secret)))
    md.append("")


def move_section(mv, p, md):
    md.append("## 7. Moves with data (SPEC §14)\n")
    md.append("`%s`: one project with a `Persistent` volume of %d MiB of random data (64 MiB files), moved with "
              "`POST /api/v1/projects/{name}/move` between two agents on this one dockerd and back, %d times: the "
              "old agent reads the stopped container's volume with Docker's archive API, the server relays the "
              "tar, the new agent writes it into the created (not started) container with the same API, SHA-256 "
              "checked on both ends. **copy** is `bytesCopied` over the time the server's `status.migration` "
              "shows phase `Copying`; **move** is from the request to `Done` (stop signal and grace, copy, start, "
              "old volume removed). RSS is the highest of `cara-server` and each agent, sampled every 20 ms during "
              "the moves (idle before: server %s, agents %s / %s). The **floor** is Docker's archive API alone on "
              "the same volume (`curl GET | curl PUT` over the socket, one container to another). %s.\n" % (
                  mv.get("bench_command", "bench/move/bench_move.py"), mv["mb"], len(mv["runs"]),
                  mib(mv["idle_rss_mib"]["server"]), mib(mv["idle_rss_mib"]["agent_a"]),
                  mib(mv["idle_rss_mib"]["agent_b"]), load(mv)))
    md.append("| run | bytes | copy | copy MB/s | move (all phases) | peak RSS server | agent a | agent b | CPU server / sender / receiver (of it kernel) | machine busy while copying |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(mv["runs"]):
        pk = r["peak_rss_mib"]
        cpu = r.get("cpu_s") or {}
        cpu_text = "%s / %s / %s" % (sec(cpu.get("server"), 2), sec(cpu.get("agent_" + r["from"]), 2),
                                     sec(cpu.get("agent_" + r["to"]), 2)) if cpu else "–"
        ks = r.get("sys_cpu_s")
        if cpu and ks:
            cpu_text += " (%s / %s / %s)" % (sec(ks.get("server"), 2), sec(ks.get("agent_" + r["from"]), 2),
                                             sec(ks.get("agent_" + r["to"]), 2))
        md.append("| %d: %s → %s | %.0f MB | %s | **%.0f** | %s | %s | %s | %s | %s | %s |" % (
            i + 1, r["from"], r["to"], r["bytes"] / 1e6, sec(r["copy_s"], 2), r["copy_mb_s"], sec(r["move_s"], 2),
            mib(pk["server"]), mib(pk["agent_a"]), mib(pk["agent_b"]), cpu_text,
            sec(r.get("copy_busy_s"), 2) if r.get("copy_busy_s") is not None else "–"))
    md.append("| floor: Docker archive API alone | %.0f MB | %s | **%.0f** | | | | | | %s |" % (
        mv["mb"] * 1048576 / 1e6, sec(mv["floor_s"], 2), mv["floor_mb_s"],
        sec(mv.get("floor_busy_s"), 2) if mv.get("floor_busy_s") is not None else "–"))
    md.append("")
    md.append("Every byte goes through Docker's tar (old node) and untar (new node) and three of our processes "
              "(old agent, server, new agent: a copy in and out of each, SHA-256 on both agents), on 2 cores: the "
              "copy is CPU-bound, and the CPU column is what our three processes spent of it during the move. "
              "**machine busy** is the CPU time all processes of the machine spent meanwhile (of 2 cores: at most "
              "twice the wall time; Docker's tar and untar, and whatever else runs on the machine). "
              "SPEC §14's target of 200 MB/s is about what Docker's archive API alone reaches here on a quiet "
              "machine; a copy relayed by the server, as the SPEC asks, stays below it.\n")


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src) as f:
        r = json.load(f)
    os.makedirs(out, exist_ok=True)
    p = Plots(out)
    m = r.get("machine", {})
    s = r.get("sections", {})
    md = ["# Benchmarks: Caravanserai against the Docker Engine API, docker-compose and Docker Swarm\n"]
    md.append("Written by `bench/run` (issue 12)%s. Every figure below was measured on this one machine, each "
              "section in one run (the table after the summary says which); rerun with `sudo bench/run` (see "
              "[README.md](README.md)).\n"
              % (" — **`--quick` smoke run: scaled down, not the figures to quote**" if r.get("quick") else ""))
    md.append("## Machine\n")
    md.append("| | |\n|---|---|")
    for k, label in (("cpu", "CPU"), ("cores", "cores"), ("ram_gib", "RAM (GiB)"), ("kernel", "kernel"), ("os", "OS"),
                     ("docker", "Docker Engine"), ("containerd", "containerd"), ("compose", "docker-compose"),
                     ("postgresql", "PostgreSQL"), ("wrk", "wrk"), ("python", "Python (clients)")):
        md.append("| %s | %s |" % (label, m.get(k, "?")))
    md.append("| Caravanserai | `buildtype=debugoptimized`; commits per section below |")
    md.append("| full run (every section, measurements only) | %s |" % sec(r.get("full_run_s", r.get("wall_s")), 0))
    md.append("")
    md.append("The machine is shared: other engineers' builds and tests may run at the same time. Each section "
              "states the load average at its start and end; ratios measured side by side in the same minutes "
              "are more trustworthy than the absolute figures.\n")
    # Headline table.
    md.append("## Summary\n")
    md.append("| what | Caravanserai | floor (Docker API) | docker-compose | Docker Swarm |")
    md.append("|---|---|---|---|---|")
    d = s.get("deploy")
    if d:
        sy = d["systems"]
        for n in ("1", "2"):
            fl = median(sy["raw"][n])
            c = median(sy["cara_watch"][n])
            cc = median(sy["cara_ctl"][n])
            md.append("| deploy, %s service%s (median) | %s (%s); `caractrl --wait` %s (%s) | %s | %s (%s) | %s |" % (
                n, "s" if n == "2" else "", ms(c), ratio(c, fl), ms(cc), ratio(cc, fl), ms(fl),
                ms(median(sy["compose"][n])), ratio(median(sy["compose"][n]), fl),
                "%s (%s)" % (ms(median(sy["swarm"][n])), ratio(median(sy["swarm"][n]), fl)) if "swarm" in sy and sy["swarm"][n] else "–"))
    b = s.get("bulk")
    if b:
        for n in b.get("sizes", []):
            n = str(n)
            fl = median([x["total"] for x in b.get("raw", {}).get(n, [])])
            c = median([x["total"] for x in b.get("cara", {}).get(n, [])])
            sw = median([x["total"] for x in b.get("swarm", {}).get(n, [])])
            md.append("| bulk, %s projects, 8 clients | %s (%s) | %s | – | %s |" % (
                n, sec(c), ratio(c, fl), sec(fl), "%s (%s)" % (sec(sw), ratio(sw, fl)) if sw else "–"))
    c = s.get("control")
    if c and c.get("get"):
        md.append("| `GET` one project / list of %d (req/s, p99) | %.0f/s, %.1f ms / %.1f/s, %.0f ms | | | |" % (
            c["projects"], median([x["rps"] for x in c["get"]]), median([x["p99_ms"] for x in c["get"]]),
            median([x["rps"] for x in c["list"]]), median([x["p99_ms"] for x in c["list"]])))
        md.append("| heartbeats, %d nodes (req/s) | %.0f/s | | | |" % (c["sim_nodes"], median([x["rps"] for x in c["heartbeat"]])))
        if c.get("create"):
            md.append("| project creates, %d clients (req/s) | %.0f/s (target ≥ %d/s) | | | |" % (
                c.get("create_clients", 16), median([x["rps"] for x in c["create"]]), c.get("create_target", 3000)))
    sc = s.get("scheduling")
    if sc:
        md.append("| scheduling (placements/s, %s nodes) | %s/s | | | |" % (sc.get("nodes"), sc.get("scheduled_per_s")))
    f = s.get("footprint")
    if f:
        md.append("| RSS server idle / %s projects | %s / %s | | | |" % (f.get("server_10k_projects"), mib(f.get("server_idle")),
                                                                      mib(f.get("server_10k"))))
        dl = f.get("docker_loaded") or {}
        md.append("| RSS agent idle / %s projects (dockerd, containerd with them) | %s / %s | dockerd %s, containerd %s | | |" % (
            f.get("agent_projects"), mib(f.get("agent_idle")), mib(f.get("agent_loaded")), mib(dl.get("dockerd")),
            mib(dl.get("containerd"))))
    fl = s.get("failure")
    if fl:
        md.append("| container killed → server shows it | %s | | | |" % sec(median(fl["container_kill"]), 2))
        md.append("| agent killed → NotReady / → Running elsewhere | %s / %s (heartbeat timeout %s) | | | |" % (
            sec(median(fl["agent_kill_notready"]), 2), sec(median(fl["agent_kill_to_running"]), 2),
            fl["server_env"].get("NODE_HEARTBEAT_TIMEOUT")))
    sx = s.get("secrets")
    if sx:
        pl, se = median([x["total"] for x in sx["runs"]["plain"]]), median([x["total"] for x in sx["runs"]["secrets"]])
        md.append("| %d projects with 2 Secrets each / plain env | %s / %s (%s) | | | |" % (sx["projects"], sec(se), sec(pl),
                                                                                    ratio(se, pl)))
    mv = s.get("move")
    if mv and mv.get("runs"):
        peak = max(max(r["peak_rss_mib"].values()) for r in mv["runs"])
        md.append("| move of a %d MiB volume between two nodes (copy MB/s; peak RSS of server and agents) | %s MB/s; "
                  "%s | %.0f MB/s (archive API alone) | | |" % (
                      mv["mb"], " / ".join("%.0f" % r["copy_mb_s"] for r in mv["runs"]), mib(peak), mv["floor_mb_s"]))
    md.append("")
    md.append("Where each section's figures come from:\n")
    md.append("| section | command | date | Caravanserai build | took |")
    md.append("|---|---|---|---|---|")
    for k in ("deploy", "bulk", "control", "scheduling", "footprint", "failure", "secrets", "move"):
        v = s.get(k)
        if not isinstance(v, dict):
            continue
        md.append("| %s | `%s` | %s | %s | %s |" % (k, v.get("command", "bench/run"), v.get("date", "?"),
                                                 v.get("build", "?"), sec(v.get("wall_s"), 0)))
        for sup in v.get("supplements", []):
            md.append("| %s (added runs) | `%s` | %s | %s | %s |" % (k, sup["command"], sup["date"], sup.get("build", "?"),
                                                                   sec(sup.get("wall_s"), 0)))
    md.append("")
    if d:
        deploy_section(d, p, md)
    if b:
        bulk_section(b, p, md)
    if c or sc:
        control_section(c or {}, sc, p, md)
    if f:
        footprint_section(f, p, md)
    if fl:
        failure_section(fl, p, md)
    if sx:
        secrets_section(sx, p, md)
    if mv and mv.get("runs"):
        move_section(mv, p, md)
    # Sections measured by their own scripts, kept across runs of this one.
    rollout = os.path.join(HERE, "rollout", "RESULTS.md")
    if os.path.exists(rollout):
        with open(rollout) as fh:
            md.append(fh.read().rstrip() + "\n")
    analysis = os.path.join(HERE, "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as fh:
            md.append(fh.read().rstrip() + "\n")
    with open(os.path.join(out, "RESULTS.md"), "w") as fh:
        fh.write("\n".join(md))
    p.close()
    print("wrote %s and %d plots" % (os.path.join(out, "RESULTS.md"), len(p.made)))


if __name__ == "__main__":
    main()
