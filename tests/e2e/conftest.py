"""Fixtures for the end-to-end suite: the real modelbay binary, a real
SeaweedFS S3 server (signatures checked), and fresh stores per test.

`stores` is parametrized over the local-folder backend and SeaweedFS, so a
test that takes it is a contract test run against both.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from servers import MotoServer, SeaweedFS

ROOT = Path(__file__).resolve().parents[2]


def modelbay_binary() -> Path:
    p = Path(os.environ.get("MODELBAY_BIN", ROOT / "build" / "src" / "modelbay"))
    if not p.exists():
        pytest.exit(f"modelbay binary not found at {p}: run `make build` first", returncode=2)
    return p


@dataclass
class Stores:
    """Where a test's three stores are, and how to run modelbay against them."""
    kind: str                     # "local" or "s3"
    env: dict                     # environment for modelbay processes
    cwd: Path                     # working directory for modelbay processes
    s3: SeaweedFS | None = None
    buckets: dict = field(default_factory=dict)  # data/models/results -> bucket

    def run(self, *args, check=True, input=None, timeout=300, extra_env=None):
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run([str(modelbay_binary()), *map(str, args)], cwd=self.cwd, env=env,
                              input=input, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"modelbay {' '.join(map(str, args))} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def popen(self, *args, extra_env=None, **kw):
        env = {**self.env, **(extra_env or {})}
        return subprocess.Popen([str(modelbay_binary()), *map(str, args)], cwd=self.cwd, env=env, **kw)

    def list_keys(self, which: str) -> list[str]:
        """Every key in one store ("data", "models", "results"), read by an
        independent client (boto3 or the file system)."""
        if self.kind == "s3":
            client = self.s3.client()
            keys, token = [], None
            while True:
                kw = {"Bucket": self.buckets[which]}
                if token:
                    kw["ContinuationToken"] = token
                r = client.list_objects_v2(**kw)
                keys += [o["Key"] for o in r.get("Contents", [])]
                if not r.get("IsTruncated"):
                    return sorted(keys)
                token = r["NextContinuationToken"]
        root = self.cwd / ".modelbay" / which
        if not root.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def read(self, which: str, key: str) -> bytes:
        if self.kind == "s3":
            return self.s3.client().get_object(Bucket=self.buckets[which], Key=key)["Body"].read()
        return (self.cwd / ".modelbay" / which / key).read_bytes()

    def write(self, which: str, key: str, data: bytes):
        if self.kind == "s3":
            self.s3.client().put_object(Bucket=self.buckets[which], Key=key, Body=data)
        else:
            p = self.cwd / ".modelbay" / which / key
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)


def base_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "MODELBAY_", "DATA_STORE", "MODEL_ARTIFACTS_STORE", "RESULTS_STORE"))}
    env["HOME"] = str(tmp / "home")  # no ~/.aws of the developer's
    (tmp / "home").mkdir(exist_ok=True)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


def make_s3_stores(seaweed: SeaweedFS, tmp: Path, versioned: bool = False) -> Stores:
    client = seaweed.client()
    tag = uuid.uuid4().hex[:10]
    buckets = {w: f"mb-{w}-{tag}" for w in ("data", "models", "results")}
    for b in buckets.values():
        client.create_bucket(Bucket=b)
        if versioned:
            client.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    env = base_env(tmp)
    env.update(seaweed.env())
    env.update({"DATA_STORE": buckets["data"], "MODEL_ARTIFACTS_STORE": f"s3://{buckets['models']}",
                "RESULTS_STORE": f"s3://{buckets['results']}"})
    return Stores(kind="s3", env=env, cwd=tmp, s3=seaweed, buckets=buckets)


def make_local_stores(tmp: Path) -> Stores:
    return Stores(kind="local", env=base_env(tmp), cwd=tmp)


def make_trained_stores(tmp: Path) -> Stores:
    """Local stores holding one trained version of the sample churn data
    (columns Country, Count, id; labels 0/1), promoted to production."""
    stores = make_local_stores(tmp)
    stores.run("sample-data", "--rows", "2000", "--seed", "7", "--out", "churn.csv")
    stores.run("upload", "churn.csv")
    stores.run("train", "--quiet")
    return stores


@pytest.fixture
def local_stores(tmp_path) -> Stores:
    return make_local_stores(tmp_path)


@pytest.fixture
def s3_stores(seaweed, tmp_path) -> Stores:
    return make_s3_stores(seaweed, tmp_path)


@pytest.fixture(params=["local", "s3"])
def stores(request, tmp_path) -> Stores:
    if request.param == "local":
        return make_local_stores(tmp_path)
    return make_s3_stores(request.getfixturevalue("seaweed"), tmp_path)
