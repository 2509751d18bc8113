"""`modelbay predict` at scale (issue 8): scoring blocks on several threads
with the same bytes out, bounded memory, several inputs into parts, sharding
across machines (`--shard I/N`: every row scored exactly once, retries change
nothing), the manifest, and bad input that names its row and writes nothing."""
from __future__ import annotations

import csv
import io
import os
import re
import resource
import signal
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import make_local_stores, make_s3_stores

FEATURES = ["Country", "Count", "id"]


def train(stores, tmp: Path):
    data = tmp / "churn.csv"
    stores.run("sample-data", "--rows", "400", "--out", data)
    stores.run("upload", data)
    (tmp / "params.json").write_text('{"num_boost_round": 8}')
    stores.run("train", "--params", tmp / "params.json", "-q")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    stores = make_local_stores(tmp)
    train(stores, tmp)
    return stores


def rows_text(n: int, start: int = 0, note=lambda i: f"n{i}") -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["note", "Country", "Count", "id"])
    for i in range(start, start + n):
        w.writerow([note(i), ["aa", "bb", "cc", "dd"][i % 4], i % 17, i])
    return out.getvalue()


def data_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]


def test_threads_give_identical_bytes(local, tmp_path):
    infile = tmp_path / "in.csv"
    infile.write_text(rows_text(5000, note=lambda i: f"line\n{i}" if i % 7 == 0 else f"a,{i}"))
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"out{threads}.csv"
        local.run("predict", infile, "--version", "1", "--threads", threads, "--batch-size", "97", "--out", out,
                  "--spool", tmp_path / f"spool{threads}")
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    got = data_rows(outs[0].decode())
    assert len(got) == 5000
    assert [r[0] for r in got[:2]] == ["line\n0", "a,1"]  # input order, quoted newline kept


def test_stdout_and_fifo_are_written_through(local, tmp_path):
    infile = tmp_path / "in.csv"
    infile.write_text(rows_text(50))
    proc = local.run("predict", infile, "--version", "1", "--out", "-", "--spool", tmp_path / "s1")
    assert len(data_rows(proc.stdout)) == 50
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("text", fifo.read_text()))
    reader.start()
    local.run("predict", infile, "--version", "1", "--out", fifo, "--spool", tmp_path / "s2")
    reader.join(60)
    assert len(data_rows(got["text"])) == 50
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file


def max_rss_kb(stderr: str) -> int:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    assert m, stderr
    return int(m.group(1))


def test_memory_is_bounded_by_the_block_size(local, tmp_path):
    # Blocks of 1000 rows; inputs of 150k and 600k rows (150x and 600x the
    # block, ~5 and ~21 MB of CSV). Reading a file whole (text, per-cell
    # views, line numbers) grows by ~45 MB between the two; streaming blocks
    # and a log that seals its segments at a fixed size do not grow.
    # --no-results-file: the results_<N>.csv update that follows the scoring
    # holds one update's new rows in memory (a known limit, README).
    rss = {}
    for n in (150_000, 600_000):
        f = tmp_path / f"in{n}.csv"
        f.write_text(rows_text(n, note=lambda i: "x" * 20))
        proc = subprocess.run(["/usr/bin/time", "-v", str(local_bin()), "predict", str(f), "--version", "1",
                               "--threads", "2", "--batch-size", "1000", "--fsync", "never",
                               "--spool", str(tmp_path / f"spool-{n}"), "--no-results-file"],
                              cwd=local.cwd, env=local.env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr
        rss[n] = max_rss_kb(proc.stderr)
        f.unlink()
    assert rss[600_000] < rss[150_000] + 20_000, rss


def local_bin():
    from conftest import modelbay_binary
    return modelbay_binary()


def test_bad_row_names_file_line_column_and_writes_nothing(local, tmp_path):
    infile = tmp_path / "bad.csv"
    text = rows_text(3000)
    lines = text.splitlines(keepends=True)
    lines[2500] = "n,aa,lots,2499\n"  # line 2501 of the file, Count is field 3
    infile.write_text("".join(lines))
    out = tmp_path / "out.csv"
    proc = local.run("predict", infile, "--version", "1", "--threads", "2", "--batch-size", "100", "--out", out,
                     "--spool", tmp_path / "spool", check=False)
    assert proc.returncode != 0
    assert f"{infile}:2501:3:" in proc.stderr and "'Count'" in proc.stderr and "lots" in proc.stderr, proc.stderr
    assert not out.exists() and not Path(str(out) + ".partial").exists()
    # A CSV syntax error deep in the file: named by the streaming reader.
    lines[2500] = 'n,"aa,1,2\n'
    infile.write_text("".join(lines[:2600]))
    proc = local.run("predict", infile, "--version", "1", "--batch-size", "100", "--out", out,
                     "--spool", tmp_path / "spool", check=False)
    assert proc.returncode != 0 and f"{infile}:2501:3:" in proc.stderr, proc.stderr
    assert list(tmp_path.glob("out*")) == []


def test_log_append_failure_leaves_no_partial_output(local, tmp_path):
    """Issue 14: an Append failure in predict left the `.partial` file (and
    the log open). The run gets a file-size limit (RLIMIT_FSIZE, SIGXFSZ
    ignored) that the spool segment crosses first: a log row is longer than
    its output row and each block is logged before it is written out, so
    the first write refused is the log's."""
    infile = tmp_path / "in.csv"
    infile.write_text(rows_text(20000))
    out = tmp_path / "out.csv"
    limit = 256 << 10

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([str(local_bin()), "predict", str(infile), "--version", "1", "--batch-size", "500",
                           "--out", str(out), "--spool", str(tmp_path / "spool")],
                          cwd=local.cwd, env=local.env, capture_output=True, text=True, timeout=300,
                          preexec_fn=limit_file_size)
    assert proc.returncode != 0, proc.stderr
    assert "logging the predictions" in proc.stderr, proc.stderr
    assert not out.exists()
    assert not Path(str(out) + ".partial").exists(), "the temp output was left behind"
    assert list(tmp_path.glob("out*")) == []


# --- parts and shards, on the local store and SeaweedFS ----------------------

SPLIT = 4000  # bytes: the big input becomes several byte ranges


def seven_inputs() -> dict[str, str]:
    objs = {f"new/in{i}.csv": rows_text(30 + i, start=1000 * i) for i in range(6)}
    # The big one: quoted fields with newlines and commas straddle range cuts.
    objs["new/big.csv"] = rows_text(600, start=50_000,
                                    note=lambda i: f"multi\nline,{i}\n\"q\"" if i % 3 == 0 else f"n{i}")
    return objs


def put_inputs(stores, objs) -> str:
    """Puts the inputs in the data store; returns the INPUT argument."""
    for key, text in objs.items():
        stores.write("data", key, text.encode())
    if stores.kind == "s3":
        return f"s3://{stores.buckets['data']}/new/"
    return str(stores.cwd / ".modelbay" / "data" / "new")


def out_arg(stores, name: str) -> str:
    if stores.kind == "s3":
        return f"s3://{stores.buckets['results']}/{name}/"
    return str(stores.cwd / name) + "/"


def read_parts(stores, name: str) -> dict[str, bytes]:
    if stores.kind == "s3":
        keys = [k for k in stores.list_keys("results") if k.startswith(name + "/")]
        return {k.split("/", 1)[1]: stores.read("results", k) for k in keys}
    root = stores.cwd / name
    if not root.exists():
        return {}
    return {p.name: p.read_bytes() for p in root.iterdir()}


def export(stores, tmp: Path) -> list[dict]:
    out = tmp / "export.csv"
    stores.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(params=["local", "s3"])
def sharded(request, tmp_path):
    if request.param == "local":
        stores = make_local_stores(tmp_path)
    else:
        stores = make_s3_stores(request.getfixturevalue("seaweed"), tmp_path)
    train(stores, tmp_path)
    return stores


def shard_run(stores, inp, out, i, n, tmp, check=True, extra=()):
    return stores.run("predict", inp, "--version", "1", "--out", out, "--shard", f"{i}/{n}",
                      "--split-bytes", SPLIT, "--batch-size", "50", "--threads", "2",
                      "--spool", tmp / f"spool-{i}", *extra, check=check)


def test_three_shards_score_every_row_once_and_retries_change_nothing(sharded, tmp_path):
    stores = sharded
    objs = seven_inputs()
    inp = put_inputs(stores, objs)
    big_parts = -(-len(objs["new/big.csv"].encode()) // SPLIT)
    assert big_parts >= 3

    # Single process: every part.
    stores.run("predict", inp, "--version", "1", "--out", out_arg(stores, "single"), "--split-bytes", SPLIT,
               "--batch-size", "50", "--spool", tmp_path / "spool-single")
    single = read_parts(stores, "single")
    part_names = sorted(k for k in single if k.startswith("part-"))
    assert len(part_names) == 6 + big_parts
    assert "_manifest.json" in single

    # Shards 0 and 1 of 3: no manifest yet; finalize says what is missing.
    out = out_arg(stores, "sharded")
    for i in (0, 1):
        shard_run(stores, inp, out, i, 3, tmp_path)
    assert "_manifest.json" not in read_parts(stores, "sharded")
    proc = stores.run("predict", "--finalize", out, check=False)
    assert proc.returncode != 0 and "parts are not written yet" in proc.stderr, proc.stderr
    # The last shard, from the environment as AWS Batch sets it: completes the set.
    stores.run("predict", inp, "--version", "1", "--out", out, "--split-bytes", SPLIT, "--batch-size", "50",
               "--spool", tmp_path / "spool-2", extra_env={"AWS_BATCH_JOB_ARRAY_INDEX": "2",
                                                          "AWS_BATCH_JOB_ARRAY_SIZE": "3"})
    sharded_parts = read_parts(stores, "sharded")
    assert "_manifest.json" in sharded_parts
    # The same parts, byte for byte, as the single-process run.
    assert {k: v for k, v in sharded_parts.items() if k.startswith("part-")} == \
        {k: v for k, v in single.items() if k.startswith("part-")}
    # Every input row exactly once across the parts (quoted newlines included).
    scored = sorted(tuple(r[:4]) for k in part_names for r in data_rows(single[k].decode()))
    expected = sorted(tuple(r) for text in objs.values() for r in data_rows(text))
    assert scored == expected

    before = export(stores, tmp_path)
    # A retried shard (Batch is at-least-once): output and export unchanged.
    shard_run(stores, inp, out, 1, 3, tmp_path)
    assert read_parts(stores, "sharded") == sharded_parts
    after = export(stores, tmp_path)
    assert after == before
    sharded_ids = [r["request_id"] for r in after if "/part-" in r["request_id"]]
    # single + sharded runs are two jobs (different --out): each row once per job.
    assert len(sharded_ids) == len(set(sharded_ids)) == 2 * len(expected)


def test_a_bad_row_fails_its_shard_only_and_writes_no_part(sharded, tmp_path):
    stores = sharded
    objs = {f"new/in{i}.csv": rows_text(20, start=100 * i) for i in range(3)}
    lines = objs["new/in1.csv"].splitlines(keepends=True)
    lines[5] = "n,aa,lots,5\n"  # line 6
    objs["new/in1.csv"] = "".join(lines)
    inp = put_inputs(stores, objs)
    out = out_arg(stores, "bad")
    results = [shard_run(stores, inp, out, i, 3, tmp_path, check=False) for i in range(3)]
    assert [r.returncode == 0 for r in results] == [True, False, True]
    assert "new/in1.csv:6:3:" in results[1].stderr and "lots" in results[1].stderr, results[1].stderr
    parts = read_parts(stores, "bad")
    assert len([k for k in parts if k.startswith("part-")]) == 2
    assert "_manifest.json" not in parts
