#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Registry credentials (SPEC §12) against a real registry: Debian's docker-registry (distribution
v2) on 127.0.0.1 with htpasswd auth.  The test pushes an image it built, removes it locally, then
pulls through the agent without credentials, with wrong ones (ImagePullAuthFailed with Docker's
message), with the right ones from a `type: Registry` Secret in spec.imagePullSecrets (Running),
and an image the registry does not have (ImageNotFound)."""

import json
import os
import shutil
import subprocess
import tempfile

import cara_fixtures as fx
from cara_agent import AgentCluster, project, service

USER, PASSWORD = "cara", "registry-Pa55-word"


def start_registry(tmp):
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary) or shutil.which("htpasswd") is None:
        fx.skip("docker-registry or htpasswd missing (apt-get install docker-registry apache2-utils)")
    htpasswd = os.path.join(tmp, "htpasswd")
    fx.run(["htpasswd", "-B", "-b", "-c", htpasswd, USER, PASSWORD])
    port = fx.free_port()
    conf = os.path.join(tmp, "config.yml")
    with open(conf, "w") as f:
        f.write("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                "http:\n  addr: 127.0.0.1:%d\nauth:\n  htpasswd:\n    realm: cara-test\n    path: %s\n"
                % (os.path.join(tmp, "data"), port, htpasswd))
    reg = fx.Daemon([binary, "serve", conf], name="docker-registry")
    reg.wait_http("http://127.0.0.1:%d/v2/" % port, status=401, timeout=30)
    return reg, "127.0.0.1:%d" % port


def docker_as_client(config_dir, *args):
    """The docker CLI with its own config (the login stays out of root's ~/.docker)."""
    env = dict(os.environ, DOCKER_CONFIG=config_dir)
    r = subprocess.run(["docker"] + list(args), env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r
    return r.stdout.strip()


def registry_secret(name, server, password):
    return {"kind": "Secret", "type": "Registry", "metadata": {"name": name},
            "stringData": {"server": server, "username": USER, "password": password}}


def condition_text(p):
    return json.dumps(p["status"])


def main():
    tmp = tempfile.mkdtemp(prefix="cara-registry-")
    fx.on_exit(lambda: shutil.rmtree(tmp, ignore_errors=True))
    with AgentCluster() as c:
        reg, host = start_registry(tmp)
        tag = fx.unique_name("t")
        image = "%s/cara-test/busybox:%s" % (host, tag)
        fx.on_exit(lambda: fx.run(["docker", "rmi", "-f", image], check=False))
        client = os.path.join(tmp, "docker-config")
        os.makedirs(client)
        docker_as_client(client, "tag", c.image, image)
        subprocess.run(["docker", "login", host, "-u", USER, "--password-stdin"], input=PASSWORD, text=True,
                       env=dict(os.environ, DOCKER_CONFIG=client), check=True, capture_output=True)
        docker_as_client(client, "push", image)
        docker_as_client(client, "rmi", image)
        assert not fx.image_exists(image)

        c.agent("n1")
        for doc in (registry_secret("reg-good", host, PASSWORD), registry_secret("reg-bad", host, "wrong-password"),
                    registry_secret("reg-other", "registry.example.com", PASSWORD)):
            s, body = c.api("POST", "/api/v1/secrets", doc)
            assert s == 201, (s, body)

        def run_project(pull_secrets, img=image):
            name = fx.unique_name("reg")
            p = project(name, [service("app", image=img, command=["sleep", "3600"])])
            if pull_secrets:
                p["spec"]["imagePullSecrets"] = pull_secrets
            c.apply(p)
            return name

        # without credentials (and with a Secret for another registry only): refused
        for secrets in (None, ["reg-other"]):
            failed = c.wait_phase(run_project(secrets), "Failed", timeout=60)
            text = condition_text(failed)
            assert "ImagePullAuthFailed" in text and "no basic auth credentials" in text, text
        # wrong credentials: refused, Docker's message, no password anywhere
        failed = c.wait_phase(run_project(["reg-bad"]), "Failed", timeout=60)
        text = condition_text(failed)
        assert "ImagePullAuthFailed" in text and "unauthorized" in text.lower(), text
        assert "wrong-password" not in text and PASSWORD not in text
        assert not fx.image_exists(image)
        # the right ones: pulled and running
        good = run_project(["reg-other", "reg-good"])
        c.wait_phase(good, "Running", timeout=90)
        assert fx.image_exists(image)
        # an image the registry does not have
        missing = "%s/cara-test/nothing:%s" % (host, tag)
        failed = c.wait_phase(run_project(["reg-good"], img=missing), "Failed", timeout=60)
        text = condition_text(failed)
        assert "ImageNotFound" in text and "manifest unknown" in text, text
        for a in c.agents:
            assert PASSWORD not in a.log()
        reg.stop()
    print("ok")


if __name__ == "__main__":
    main()
