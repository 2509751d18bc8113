"""The seed's Ansible playbooks, run by the real ansible-playbook (amazon.aws
collection) against the SeaweedFS S3 server: uploaded data is what
`modelbay train` trains on, and an uploaded model_af_<N>.zip becomes a
version that `modelbay serve` answers with."""
from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_s3_stores, modelbay_binary

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "ansible"
VENV_BIN = Path(sys.executable).parent


def _has_command(*args) -> bool:
    """`modelbay ARGS --help` prints that command's own usage (an unknown or
    placeholder command prints the top-level help or fails)."""
    try:
        proc = subprocess.run([str(modelbay_binary()), *args, "--help"], capture_output=True, text=True,
                              timeout=30)
        return proc.returncode == 0 and f"Usage: modelbay {' '.join(args)} " in proc.stdout
    except Exception:  # noqa: BLE001 - binary missing or broken
        return False


HAS_TRAIN = _has_command("train")
HAS_IMPORT = _has_command("models", "import")
HAS_SERVE = _has_command("serve")
needs_train = pytest.mark.skipif(not HAS_TRAIN, reason="`modelbay train --help` does not show train's usage: train not built yet")
needs_import = pytest.mark.skipif(not (HAS_TRAIN and HAS_IMPORT),
                                  reason="`modelbay train` / `modelbay models import` not built yet")


def write_churn_csv(path: Path, rows: int = 300, seed: int = 11) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["plan", "calls", "minutes", "churn"])
        for _ in range(rows):
            plan = rng.choice(["aa", "bb", "cc"])
            calls = rng.randint(0, 9)
            minutes = round(rng.uniform(0, 300), 1)
            churn = int(calls > 5 or (plan == "cc" and minutes > 200) or rng.random() < 0.05)
            w.writerow([plan, calls, minutes, churn])
    return path


def playbook(stores, name: str, check=True, **extra_vars) -> subprocess.CompletedProcess:
    env = {**stores.env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_HOME": str(stores.cwd / ".ansible"),
           "ANSIBLE_LOCAL_TEMP": str(stores.cwd / ".ansible" / "tmp"), "PATH": f"{VENV_BIN}:/usr/bin:/bin",
           "PWD": str(stores.cwd)}  # as a shell started in stores.cwd exports it
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(PLAYBOOKS / name), "-e", json.dumps(extra_vars)],
                          cwd=stores.cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"ansible-playbook {name} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture
def s3(seaweed, tmp_path):
    return make_s3_stores(seaweed, tmp_path)


def test_upload_data_puts_the_file_under_the_given_key(s3, tmp_path):
    data = write_churn_csv(tmp_path / "churn.csv")
    playbook(s3, "upload_data.yml", bucket=s3.buckets["data"], file=str(data), key="2024/churn.csv",
             endpoint=s3.s3.endpoint)
    assert s3.read("data", "2024/churn.csv") == data.read_bytes()
    again = playbook(s3, "upload_data.yml", bucket=s3.buckets["data"], file=str(data), key="2024/churn.csv",
                     endpoint=s3.s3.endpoint)
    assert "changed=0" in again.stdout, "re-uploading identical content must be a no-op"


def test_upload_data_takes_a_relative_path_from_where_it_runs(s3):
    """`-e file=churn.csv` as the playbook's own example says: relative to the
    shell's working directory (PWD, as a shell exports it), not the playbook's."""
    data = write_churn_csv(s3.cwd / "churn.csv")
    out = playbook(s3, "upload_data.yml", bucket=s3.buckets["data"], file="churn.csv", endpoint=s3.s3.endpoint)
    assert "uploaded: s3://" in out.stdout
    assert s3.read("data", "churn.csv") == data.read_bytes()


def test_upload_data_refuses_a_key_the_data_store_would_ignore(s3, tmp_path):
    data = write_churn_csv(tmp_path / "churn.csv")
    proc = playbook(s3, "upload_data.yml", check=False, bucket=s3.buckets["data"], file=str(data),
                    key="churn.txt", endpoint=s3.s3.endpoint)
    assert proc.returncode != 0 and "ending in .csv" in proc.stdout
    assert s3.list_keys("data") == []


@needs_train
def test_uploaded_data_is_what_train_uses(s3, tmp_path):
    data = write_churn_csv(tmp_path / "churn.csv")
    playbook(s3, "upload_data.yml", bucket=s3.buckets["data"], file=str(data), endpoint=s3.s3.endpoint)
    s3.run("train")
    meta = json.loads(s3.run("models", "show", "1", "--json").stdout)
    assert "churn.csv" in json.dumps(meta.get("data", meta))
    assert any(k.endswith("model_af_1.zip") for k in s3.list_keys("models"))


@needs_import
def test_uploaded_bundle_becomes_a_servable_version(seaweed, tmp_path):
    producer = make_s3_stores(seaweed, _mkdir(tmp_path / "producer"))
    data = write_churn_csv(tmp_path / "churn.csv")
    playbook(producer, "upload_data.yml", bucket=producer.buckets["data"], file=str(data),
             endpoint=seaweed.endpoint)
    producer.run("train")
    (bundle_key,) = [k for k in producer.list_keys("models") if k.endswith("model_af_1.zip")]
    bundle = tmp_path / "model_af_1.zip"
    bundle.write_bytes(producer.read("models", bundle_key))

    consumer = make_s3_stores(seaweed, _mkdir(tmp_path / "consumer"))
    out = playbook(consumer, "upload_model_af.yml", bucket=consumer.buckets["models"], file=str(bundle),
                   endpoint=seaweed.endpoint, modelbay_bin=str(modelbay_binary()))
    assert "version 1" in out.stdout or '"version": 1' in out.stdout, out.stdout[-3000:]
    assert consumer.read("models", "incoming/model_af_1.zip") == bundle.read_bytes()
    listing = consumer.run("models", "list").stdout
    assert "1" in listing
    if HAS_SERVE:
        from serve_util import Server
        with Server(consumer) as srv:
            r = srv.infer([["aa", 2, 2.0]], version="1")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model_version"] == "1" and len(body["predictions"]) == 1


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
