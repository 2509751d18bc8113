"""Temporary AWS credentials from the two endpoints a deployment uses, against
SeaweedFS with signatures checked:

- EC2 instance profile, IMDSv2 only, served by AWS's amazon-ec2-metadata-mock
  on loopback (AWS_EC2_METADATA_SERVICE_ENDPOINT);
- ECS task role (AWS_CONTAINER_CREDENTIALS_FULL_URI with the Authorization
  token read from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), served by a small
  HTTP server here that checks the header and counts requests;
- a long `serve` refreshes short-lived credentials before they expire.

No test reaches the real metadata addresses: the endpoints are loopback ports,
and tests not about IMDS keep AWS_EC2_METADATA_DISABLED=true.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import make_s3_stores
from serve_util import Server, wait_for
from servers import ROLE_KEYS, _stop, free_port, wait_until

VENV_BIN = Path(sys.executable).parent
# SeaweedFS refuses any request carrying X-Amz-Security-Token from its static
# identities (it takes it for an STS session of its own), so the endpoints here
# hand out keys with an empty Token; real ones always add one (the header's
# signing is covered by the SigV4 unit tests).
SESSION_TOKEN = ""
# modelbay refreshes credentials 5 minutes before they expire.
REFRESH_MARGIN = timedelta(minutes=5)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def without_static_keys(env: dict) -> dict:
    return {k: v for k, v in env.items()
            if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}


def assert_no_secret(proc: subprocess.CompletedProcess):
    for _, secret in ROLE_KEYS:
        assert secret not in proc.stdout + proc.stderr


# --- EC2 instance profile (IMDSv2) ------------------------------------------------------

class MetadataMock:
    """amazon-ec2-metadata-mock, IMDSv2 only, with the role's credentials set."""

    def __init__(self, workdir: Path, key: tuple[str, str]):
        exe = VENV_BIN / "ec2-metadata-mock"
        if not exe.exists():
            pytest.fail("ec2-metadata-mock not in .venv/bin: run scripts/install-deps.sh")
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "aemm-config.json"
        cfg.write_text(json.dumps({"metadata": {"values": {"iam-security-credentials": {
            "Code": "Success", "LastUpdated": iso(datetime.now(timezone.utc)), "Type": "AWS-HMAC",
            "AccessKeyId": key[0], "SecretAccessKey": key[1], "Token": SESSION_TOKEN,
            "Expiration": iso(datetime.now(timezone.utc) + timedelta(hours=6))}}}}))
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log = workdir / "aemm.log"
        self.proc = subprocess.Popen([str(exe), "--hostname", "127.0.0.1", "--port", str(port),
                                      "--config-file", str(cfg), "--imdsv2"], cwd=workdir,
                                     env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"},
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        import requests
        wait_until(lambda: requests.put(self.endpoint + "/latest/api/token", timeout=2, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "60"}).ok, 30, "ec2-metadata-mock", self.proc, self.log)

    def stop(self):
        _stop(self.proc)


@pytest.fixture
def imds(tmp_path):
    mock = MetadataMock(tmp_path / "imds", ROLE_KEYS[0])
    yield mock
    mock.stop()


def test_imdsv2_instance_profile_credentials_reach_seaweedfs(seaweed, imds, tmp_path):
    stores = make_s3_stores(seaweed, tmp_path)
    env = without_static_keys(stores.env)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.endpoint
    stores.run("sample-data", "--rows", "300", "--seed", "3", "--out", "c.csv")
    stores.env = env
    assert_no_secret(stores.run("upload", "c.csv"))
    assert_no_secret(stores.run("train", "--quiet"))
    assert any(k.endswith("c.csv") for k in stores.list_keys("data"))
    assert stores.list_keys("models"), "train wrote no version with the instance-profile credentials"

    # The same command with IMDS disabled finds no credentials: the mock was the source.
    proc = stores.run("upload", "c.csv", check=False, extra_env={"AWS_EC2_METADATA_DISABLED": "true"})
    assert proc.returncode != 0 and "no AWS credentials found" in proc.stderr, proc.stderr


# --- ECS task role -----------------------------------------------------------------------

class TaskRoleEndpoint:
    """The ECS agent's credentials endpoint on loopback: answers 401 unless the
    Authorization header is the token, else the next key pair of ROLE_KEYS
    with an Expiration `lifetime` from now. Counts the answered requests."""

    def __init__(self, token: str, lifetime: timedelta = timedelta(hours=6)):
        self.token, self.lifetime = token, lifetime
        self.answered = 0
        self.refused = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path != "/creds" or self.headers.get("Authorization") != outer.token:
                    with outer.lock:
                        outer.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with outer.lock:
                    key = ROLE_KEYS[outer.answered % len(ROLE_KEYS)]
                    outer.answered += 1
                body = json.dumps({"AccessKeyId": key[0], "SecretAccessKey": key[1], "Token": SESSION_TOKEN,
                                   "Expiration": iso(datetime.now(timezone.utc) + outer.lifetime),
                                   "RoleArn": "arn:aws:iam::123456789012:role/modelbay-task"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/creds"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def ecs_env(stores, endpoint: TaskRoleEndpoint, token_file: Path) -> dict:
    env = without_static_keys(stores.env)
    env.update({"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)})
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    return env


def test_ecs_task_role_credentials_with_a_token_file(seaweed, tmp_path):
    endpoint = TaskRoleEndpoint("ecs-agent-token-1")
    try:
        stores = make_s3_stores(seaweed, tmp_path)
        stores.run("sample-data", "--rows", "300", "--seed", "3", "--out", "c.csv")
        token_file = tmp_path / "token"
        token_file.write_text("ecs-agent-token-1\n")
        stores.env = ecs_env(stores, endpoint, token_file)
        assert_no_secret(stores.run("upload", "c.csv"))
        assert any(k.endswith("c.csv") for k in stores.list_keys("data"))
        assert endpoint.answered >= 1 and endpoint.refused == 0

        # The agent rotates the token in the file: the file is read again.
        endpoint.token = "ecs-agent-token-2"
        token_file.write_text("ecs-agent-token-2\n")
        stores.run("upload", "c.csv", "--name", "again.csv")
        assert endpoint.refused == 0

        # A stale token: the endpoint's 401 is the error, not a signature failure later.
        token_file.write_text("stale-token\n")
        proc = stores.run("upload", "c.csv", check=False)
        assert proc.returncode != 0 and "ECS task-role credentials endpoint answered HTTP 401" in proc.stderr, \
            proc.stderr
        # A token file that is not there is named.
        proc = stores.run("upload", "c.csv", check=False,
                          extra_env={"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(tmp_path / "missing")})
        assert proc.returncode != 0 and str(tmp_path / "missing") in proc.stderr, proc.stderr
    finally:
        endpoint.stop()


def test_long_serve_refreshes_task_role_credentials_before_expiry(seaweed, tmp_path):
    """Credentials that expire 5 min + 2 s after each fetch are due for refresh
    2 s later: over ~20 s of serving (alias re-reads and log shipments every
    0.5 s), the endpoint is asked again and again, each answer a different key
    pair, and every request and shipment keeps working."""
    stores = make_s3_stores(seaweed, tmp_path)
    stores.run("sample-data", "--rows", "600", "--seed", "5", "--out", "c.csv")
    stores.run("upload", "c.csv")
    stores.run("train", "--quiet")
    endpoint = TaskRoleEndpoint("ecs-agent-token", lifetime=REFRESH_MARGIN + timedelta(seconds=2))
    token_file = tmp_path / "token"
    token_file.write_text("ecs-agent-token")
    stores.env = ecs_env(stores, endpoint, token_file)
    ids = []
    try:
        with Server(stores, args=["--threads", "1", "--alias-refresh", "0.5", "--ship-interval-ms", "500"]) as srv:
            srv.wait_ready(60)
            first = endpoint.answered
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r = srv.infer([["aa", 2, 2]], version="1")
                assert r.status_code == 200, r.text
                ids.append(r.json()["request_id"])
                time.sleep(0.2)
            wait_for(lambda: endpoint.answered >= first + 3, 60, "credential refreshes")
            assert endpoint.refused == 0
            assert "error" not in srv.log_text().lower(), srv.log_text()[-3000:]
    finally:
        endpoint.stop()
    out = tmp_path / "r.csv"
    stores.env = {**stores.env, **seaweed.env()}
    stores.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="") as f:
        exported = [r["request_id"] for r in csv.DictReader(f)]
    assert sorted(exported) == sorted(ids)
