"""`modelbay train --workers N`: a distributed training on XGBoost's own
collective (rabit tracker from python3-xgboost, N worker processes on
127.0.0.1), against the local folder and SeaweedFS. The version must be the
one single-process training makes of the same data: same rows held out, same
preprocessor, AUC within 0.01; each worker reads only its share; a killed
worker fails the whole job and leaves no version."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_train import committed_versions

PARAMS = '{"num_boost_round": 20, "nthread": 1}'


def split_into_files(csv_path: Path, out_dir: Path, sizes: list[int]) -> list[Path]:
    """The rows of csv_path cut into files of `sizes` rows, each with the header."""
    lines = csv_path.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    assert sum(sizes) == len(rows)
    paths, at = [], 0
    for i, n in enumerate(sizes):
        p = out_dir / f"part-{i}.csv"
        p.write_text(header + "".join(rows[at:at + n]))
        paths.append(p)
        at += n
    return paths


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


def environ_of(pid: int) -> dict:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(kv.decode(errors="replace").split("=", 1) for kv in raw if b"=" in kv)


def test_three_workers_make_the_single_process_version(stores, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(PARAMS)
    csv_path = tmp_path / "churn.csv"
    stores.run("sample-data", "--rows", "6000", "--out", csv_path)
    # One large object (split into byte ranges) and three small ones.
    parts = split_into_files(csv_path, tmp_path, [3600, 800, 800, 800])
    for p in parts:
        stores.run("upload", p)

    single = json.loads(stores.run("train", "--data", "all", "--params", params, "--json", "-q").stdout)
    proc = stores.run("train", "--data", "all", "--params", params, "--json", "--promote", "never",
                      "--workers", "3", timeout=600)
    dist = json.loads(proc.stdout)  # printed once, by worker 0
    assert single["version"] == 1 and dist["version"] == 2
    assert committed_versions(stores) == ["1", "2"]
    assert abs(dist["metrics"]["roc_auc"] - single["metrics"]["roc_auc"]) <= 0.01, (single, dist)

    meta1 = json.loads(stores.read("models", "1/metadata.json"))
    meta2 = json.loads(stores.read("models", "2/metadata.json"))
    # The same rows, and the same rows held out.
    assert meta2["rows"] == meta1["rows"]
    assert meta1["workers"]["world_size"] == 1
    workers = meta2["workers"]
    assert workers["world_size"] == 3
    shares = workers["shares"]
    assert [s["rank"] for s in shares] == [0, 1, 2]
    assert sum(s["rows"] for s in shares) == 6000
    for s in shares:  # each worker read only its share
        assert 0 < s["rows"] < 6000 * 0.5, shares
    # The parts cover every object exactly once: byte ranges of the large
    # object are disjoint and cover it.
    sizes = {p.name: p.stat().st_size for p in parts}
    covered = {name: [] for name in sizes}
    for s in shares:
        for part in s["parts"]:
            covered[part["key"]].append((part["offset"], part["offset"] + part["length"]))
    for name, ranges in covered.items():
        ranges.sort()
        assert ranges[0][0] == 0 and ranges[-1][1] == sizes[name], (name, ranges)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])), (name, ranges)
    assert len(covered["part-0.csv"]) >= 2  # the large object really was split
    assert {d["key"]: d["rows"] for d in meta2["data"]} == {"part-0.csv": 3600, "part-1.csv": 800,
                                                           "part-2.csv": 800, "part-3.csv": 800}
    # The saved preprocessor is the one single-process training fitted.
    assert stores.read("models", "2/preprocessor.json") == stores.read("models", "1/preprocessor.json")
    # The baseline (docs/monitoring.md) describes every row in both: the
    # distributed one sums every worker's tallies; only its bin edges are
    # the quantiles of worker 0's share.
    base1 = json.loads(stores.read("models", "1/baseline.json"))
    base2 = json.loads(stores.read("models", "2/baseline.json"))
    assert base1["features"][0]["rows"] == 6000 and "training data (6000 rows" in base1["scope"]
    assert base2["scope"].startswith("the training data of all 3 workers (6000 rows"), base2["scope"]
    for f1, f2 in zip(base1["features"], base2["features"], strict=True):
        assert (f2["name"], f2["rows"], f2["missing"]) == (f1["name"], 6000, f1["missing"])
        if f1["type"] == "numeric":
            assert (f2["count"], f2["min"], f2["max"]) == (f1["count"], f1["min"], f1["max"]), f1["name"]
            assert f2["mean"] == pytest.approx(f1["mean"], rel=1e-9), f1["name"]
            # Edges from the workers' quantile sketches: exact when a worker
            # has at most 2049 values, else within a fraction of a percent.
            assert f2["edges"] == pytest.approx(f1["edges"], abs=0.005 * (f1["max"] - f1["min"])), f1["name"]
            assert sum(f2["counts"]) == f2["count"] and len(f2["counts"]) == max(1, len(f2["edges"]) - 1)
        else:
            assert (f2["categories"], f2["rare"]) == (f1["categories"], f1["rare"]), f1["name"]
    # The output baseline: the model's scores on every worker's holdout rows.
    out1, out2 = base1["output"], base2["output"]
    assert out2["rows"] == out1["rows"] == meta1["rows"]["holdout"], (out1["rows"], out2["rows"])
    assert sum(label["count"] for label in out2["labels"]) == out2["rows"]
    assert out2["scores"]["count"] == out2["rows"]


def test_a_killed_worker_fails_the_job_and_publishes_nothing(local_stores, tmp_path):
    params = tmp_path / "params.json"
    # Long enough to be killed mid-training on a loaded machine.
    params.write_text('{"num_boost_round": 100000, "max_depth": 8, "nthread": 1}')
    csv_path = tmp_path / "churn.csv"
    local_stores.run("sample-data", "--rows", "6000", "--out", csv_path)
    for p in split_into_files(csv_path, tmp_path, [2000, 2000, 2000]):
        local_stores.run("upload", p)
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = local_stores.popen("train", "--data", "all", "--params", params, "--workers", "3",
                                  stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 180
        while "round " not in err_path.read_text():
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.2)
        workers = {}
        for pid in children(proc.pid):
            env = environ_of(pid)
            if "DMLC_TASK_ID" in env:
                workers[int(env["DMLC_TASK_ID"])] = pid
        assert sorted(workers) == [0, 1, 2]
        os.kill(workers[1], signal.SIGKILL)
        proc.wait(timeout=120)  # well inside the bound: the peers see the dead link at once
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = err_path.read_text()
    assert proc.returncode != 0, stderr
    assert "worker 1 was killed by signal 9" in stderr, stderr
    for pid in workers.values():  # every worker is gone (reaped by the launcher)
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert committed_versions(local_stores) == []
    assert local_stores.list_keys("models") == []


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_aws_batch_multi_node_variables(local_stores, tmp_path):
    """Two `train --distributed` processes told their place the way AWS Batch
    multi-node parallel tells it (the main node's address only on the other
    node): the main node runs the tracker, the job publishes one version."""
    params = tmp_path / "params.json"
    params.write_text(PARAMS)
    csv_path = tmp_path / "churn.csv"
    local_stores.run("sample-data", "--rows", "3000", "--out", csv_path)
    for p in split_into_files(csv_path, tmp_path, [1500, 1500]):
        local_stores.run("upload", p)
    port = str(free_port())
    batch = {"AWS_BATCH_JOB_NUM_NODES": "2", "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0", "MODELBAY_TRACKER_PORT": port}
    main = local_stores.popen("train", "--data", "all", "--params", params, "--json", "--distributed",
                              extra_env={**batch, "AWS_BATCH_JOB_NODE_INDEX": "0"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    other = local_stores.run("train", "--data", "all", "--params", params, "--json", "--distributed",
                             extra_env={**batch, "AWS_BATCH_JOB_NODE_INDEX": "1",
                                        "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "127.0.0.1"},
                             timeout=300)
    out, err = main.communicate(timeout=300)
    assert main.returncode == 0, err
    assert other.stdout == ""  # the result is printed by worker 0 only
    assert json.loads(out)["version"] == 1
    assert committed_versions(local_stores) == ["1"]
    meta = json.loads(local_stores.read("models", "1/metadata.json"))
    assert meta["workers"]["world_size"] == 2
    rows = [s["rows"] for s in meta["workers"]["shares"]]
    assert sum(rows) == 3000 and all(0 < r < 3000 for r in rows), rows
