#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Move benchmark (SPEC §14, issue 24): a project with one Persistent volume of --mb MiB of random
data moved between two agents on this machine's dockerd (and back, --runs times), relayed by the
server.  Reports the copy throughput (bytesCopied over the time in phase Copying, as the server's
status.migration shows it), the whole move (request -> Done, stop and start included), and the
highest RSS of cara-server and of both agents sampled every 20 ms during the moves (they must
stream, never hold a volume: target < 32 MiB).  For the floor, the same volume read and written
with Docker's archive API alone (curl GET | curl PUT over the socket).

    bench/move/bench_move.py [--mb 1024] [--runs 3] [--server B] [--agent B] [--ctl B]

Prints one JSON object on its last lines.  Needs root (dockerd, PostgreSQL as a dedicated user)."""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def cpu_s(pid):
    """User + system CPU seconds of @pid so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def sys_cpu_s(pid):
    """System CPU seconds of @pid so far (the kernel's share: socket copies, TCP)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[12]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def busy_s():
    """CPU seconds the whole machine spent busy so far (all processes: dockerd's tar too)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = {k: 0.0 for k in pids}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for k, pid in self.pids.items():
                self.peak[k] = max(self.peak[k], rss_mib(pid))
            time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "src", "server", "cara-server"))
    ap.add_argument("--agent", default=os.path.join(ROOT, "build", "src", "agent", "cara-agent"))
    ap.add_argument("--ctl", default=os.path.join(ROOT, "build", "src", "ctl", "caractrl"))
    args = ap.parse_args()
    os.environ["CARA_SERVER_BIN"] = os.path.abspath(args.server)
    os.environ["CARA_AGENT_BIN"] = os.path.abspath(args.agent)
    import cara_fixtures as fx
    from cara_agent import AgentCluster, containers, project, service

    res = {"mb": args.mb, "runs": [], "load_start": list(os.getloadavg())}
    with AgentCluster(server_env={"RESYNC_INTERVAL": "5s"}) as c:
        a, b = c.agent("a"), c.agent("b")
        # Only a takes it at first.
        c.api("POST", "/api/v1/nodes/%s/drain" % b.node)
        name = fx.unique_name("mv")
        c.apply(project(name, [service("db", command=["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
                                       volumeMounts=[{"name": "data", "mountPath": "/data"}])],
                        volumes=[{"name": "data", "type": "Persistent"}]))
        c.wait_phase(name, "Running", timeout=120, node=a.node)
        c.api("POST", "/api/v1/nodes/%s/uncordon" % b.node)
        c.wait_node_ready(b.node)
        cid = [x for x in containers(["cara.project=" + name, "cara.node=" + a.node])][0]["id"]
        fx.run(["docker", "exec", cid, "sh", "-c", "for i in $(seq 1 %d); do head -c 67108864 /dev/urandom > /data/f$i; "
                "done" % max(1, args.mb // 64)], timeout=900)
        res["idle_rss_mib"] = {"server": rss_mib(c.server.pid), "agent_a": rss_mib(a.pid), "agent_b": rss_mib(b.pid)}

        # The floor: Docker's archive API alone, the same volume from a's stopped container into a new one.
        fx.docker("stop", "-t", "1", cid)
        vol = fx.docker("volume", "create", "--label", "cara.node=" + b.node, "cara-bench-move-floor-" + name)
        floor_cid = fx.docker("create", "--label", "cara.node=" + b.node, "-v", vol + ":/data", c.image, "true")
        t0, b0 = time.monotonic(), busy_s()
        sock = "/var/run/docker.sock"
        get = subprocess.Popen(["curl", "-sf", "--unix-socket", sock,
                                "http://localhost/v1.41/containers/%s/archive?path=/data" % cid], stdout=subprocess.PIPE)
        put = subprocess.run(["curl", "-sf", "--unix-socket", sock, "-X", "PUT", "-H", "Content-Type: application/x-tar",
                              "-T", "-", "http://localhost/v1.41/containers/%s/archive?path=/" % floor_cid],
                             stdin=get.stdout, capture_output=True)
        get.wait()
        res["floor_s"] = time.monotonic() - t0
        res["floor_busy_s"] = busy_s() - b0
        fx.docker("rm", "-f", floor_cid)
        fx.docker("volume", "rm", vol)
        fx.docker("start", cid)

        agents = [a, b]
        for run in range(args.runs):
            src, dst = agents[run % 2], agents[(run + 1) % 2]
            c.wait_phase(name, "Running", timeout=120, node=src.node)
            pids = {"server": c.server.pid, "agent_a": a.pid, "agent_b": b.pid}
            cpu0 = {k: cpu_s(v) for k, v in pids.items()}
            sys0 = {k: sys_cpu_s(v) for k, v in pids.items()}
            sampler = Sampler(pids)
            sampler.start()
            t0, b0 = time.monotonic(), busy_s()
            s, _ = c.api("POST", "/api/v1/projects/%s/move?node=%s" % (name, dst.node))
            assert s == 202, s
            t_copy = t_start = b_copy = b_start = None
            while True:
                m = (c.project(name) or {}).get("status", {}).get("migration") or {}
                now = time.monotonic()
                if m.get("phase") == "Copying" and t_copy is None:
                    t_copy = now
                if m.get("phase") == "Copying" and b_copy is None:
                    b_copy = busy_s()
                if m.get("phase") in ("Starting", "Done") and t_start is None:
                    t_start, b_start = now, busy_s()
                if m.get("phase") in ("Done", "Failed"):
                    break
                if now - t0 > 900:
                    raise TimeoutError("move did not end: %s" % m)
                time.sleep(0.02)
            t_done = time.monotonic()
            sampler.stop.set()
            sampler.join()
            assert m["phase"] == "Done", m
            copy_s = t_start - (t_copy or t0)
            r = {"from": src.node[-1], "to": dst.node[-1], "bytes": m["bytesCopied"], "copy_s": copy_s,
                 "copy_mb_s": m["bytesCopied"] / 1e6 / copy_s, "move_s": t_done - t0, "peak_rss_mib": sampler.peak,
                 "cpu_s": {k: round(cpu_s(v) - cpu0[k], 2) for k, v in pids.items()},
                 "sys_cpu_s": {k: round(sys_cpu_s(v) - sys0[k], 2) for k, v in pids.items()},
                 "copy_busy_s": round(b_start - (b0 if b_copy is None else b_copy), 2)}
            res["runs"].append(r)
            print("run %d: %s -> %s: %.0f MB in %.2f s copying (%.0f MB/s), %.2f s in all; peak RSS %s; CPU %s; "
                  "of it in the kernel %s; machine busy %.2f s while copying" % (
                run + 1, r["from"], r["to"], r["bytes"] / 1e6, copy_s, r["copy_mb_s"], r["move_s"],
                ", ".join("%s %.1f MiB" % kv for kv in sorted(sampler.peak.items())),
                ", ".join("%s %.2f s" % kv for kv in sorted(r["cpu_s"].items())),
                ", ".join("%s %.2f s" % kv for kv in sorted(r["sys_cpu_s"].items())), r["copy_busy_s"]), flush=True)
    res["floor_mb_s"] = args.mb * 1048576 / 1e6 / res["floor_s"]
    print("floor: %.0f MB/s, machine busy %.2f s" % (res["floor_mb_s"], res["floor_busy_s"]), flush=True)
    res["load_end"] = list(os.getloadavg())
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
