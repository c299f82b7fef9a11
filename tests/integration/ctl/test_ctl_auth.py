# SPDX-License-Identifier: Apache-2.0
"""caractrl against a real cara-server with authentication on (SPEC §9): no token -> 401 -> exit 4;
the admin token from --token, CARA_TOKEN or the config file works; root on the server's machine
without a token uses the admin token the server generated in its state directory.
Skipped (77) while the server does not enforce tokens."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlkit import Ctl, check, project_yaml  # noqa: E402
from cara_server import CaraServer, postgres, skip, wait_until  # noqa: E402


def main():
    with postgres() as pg:
        srv = CaraServer(database_url=pg.url, start=False)
        srv.env.pop("CARA_AUTH", None)
        srv.env.pop("CARA_ADMIN_TOKEN", None)
        with srv:
            srv.start()
            status, _, _ = srv.request("GET", "/api/v1/nodes")
            if status != 401:
                skip("cara-server does not enforce tokens yet (GET /api/v1/nodes without a token: %d)" % status)
            token_file = os.path.join(srv.data_dir, "admin.token")
            wait_until(lambda: os.path.exists(token_file), what="the generated admin token")
            with open(token_file) as f:
                token = f.read().strip()
            with Ctl(srv.url) as ctl:
                r = ctl.expect(4, "get", "projects")
                check(r.err.startswith("caractrl: Unauthorized"), "401 -> exit 4, one line", r)
                ctl.ok("apply", "-f", "-", "--token", token, input=project_yaml("authed"))
                r = ctl.ok("get", "projects", "-o", "name", env={"CARA_TOKEN": token})
                check(r.out == "project/authed\n", "CARA_TOKEN", r)
                ctl.expect(4, "get", "projects", env={"CARA_TOKEN": "wrong"})
                ctl.write_config("[caractrl]\ntoken=%s\n" % token)
                ctl.ok("describe", "project", "authed")
                ctl.write_config("")
                if os.geteuid() == 0:
                    r = ctl.ok("get", "projects", "-o", "name", env={"CARA_ADMIN_TOKEN_FILE": token_file})
                    check(r.out == "project/authed\n", "root uses the server's admin token", r)
    print("ok")


if __name__ == "__main__":
    main()
