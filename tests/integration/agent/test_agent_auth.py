# SPDX-License-Identifier: Apache-2.0
"""An agent without a join token would serve logs and port-forward to anyone: it refuses to start
unless it is told explicitly that the cluster runs without authorisation (CARA_AUTH=none, or
[agent] auth=none), and the message names both ways out.  An unknown mode is refused too."""

import os
import subprocess
import tempfile

import cara_fixtures as fx
from cara_agent import AgentCluster, agent_bin


def run_agent(env_extra, conf=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CARA_TOKEN", "CARA_AUTH")}
    env.update({"SERVER_URL": "http://127.0.0.1:9", "NODE_NAME": "authless", "AGENT_LISTEN_PORT": "0",
                "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"})
    env.update(env_extra)
    return subprocess.run([agent_bin(), "--config", conf or "/nonexistent/agent.conf"], env=env,
                          capture_output=True, text=True, timeout=30)


def main():
    p = run_agent({})
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "CARA_TOKEN" in p.stderr and "CARA_AUTH=none" in p.stderr, p.stderr
    p = run_agent({"CARA_AUTH": "open"})
    assert p.returncode == 1 and "unknown mode" in p.stderr, (p.returncode, p.stderr)
    # auth=token in the file does not count as "none"
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("[agent]\nauth=token\n")
        f.flush()
        p = run_agent({}, f.name)
        assert p.returncode == 1 and "CARA_TOKEN" in p.stderr, (p.returncode, p.stderr)
    print("ok   an agent without a join token refuses to start unless CARA_AUTH=none")
    # with CARA_AUTH=none it starts, and says at once that its API is open and in clear text
    with AgentCluster() as c:
        a = c.agent("open")
        log = a.log()
        assert "Authorisation is off" in log and "TLS is off" in log, log
        print("ok   an agent without auth or TLS on 0.0.0.0 warns at start")
        # every JSON the agent reads is depth-checked, the volume receiver's too (SPEC §9)
        deep = b"[" * 100000 + b"]" * 100000
        base = "http://127.0.0.1:%d" % a.port
        status, _, body = fx.http("POST", base + "/api/v1/migrate/web/receive", deep,
                                  headers={"Content-Type": "application/json"}, timeout=30)
        assert status == 400 and b"64" in body, (status, body[:300])
        status, _, _ = fx.http("GET", base + "/healthz")
        assert status == 200, status
    print("ok   deep JSON to the agent's volume receiver: 400 naming the limit, agent alive")


if __name__ == "__main__":
    main()
