"""Issue 12 (§2, §4) and 14 through the real binary: create-if-absent is
idempotent over a lossy network (faults injected between modelbay and
SeaweedFS), one damaged registry entry never takes the rest down, and a
malformed model_version is a 400 over HTTP exactly as on the command line."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import make_s3_stores
from drop_proxy import AnswerDroppingProxy
from serve_util import Server, wait_for
from servers import wait_until
from toxiproxy import Toxiproxy

PARAMS = '{"num_boost_round": 5}'


def committed(stores) -> list[int]:
    return sorted(int(k.split("/")[0]) for k in stores.list_keys("models") if k.endswith("/.committed"))


def folders(stores) -> list[str]:
    return sorted({k.split("/")[0] for k in stores.list_keys("models") if k[0].isdigit()})


def through(stores, endpoint: str) -> dict:
    return {"AWS_ENDPOINT_URL": endpoint}


def s3_with_data(seaweed, tmp_path, csv):
    """Fresh buckets with a small upload, and a drop proxy in front of SeaweedFS."""
    stores = make_s3_stores(seaweed, tmp_path)
    stores.run("sample-data", "--rows", "400", "--out", csv)
    stores.run("upload", csv)
    host, port = seaweed.endpoint.rsplit("//", 1)[1].split(":")
    return stores, AnswerDroppingProxy(host, int(port))


@pytest.fixture
def trained_data(tmp_path):
    csv = tmp_path / "churn.csv"
    params = tmp_path / "params.json"
    params.write_text(PARAMS)
    return csv, params


def test_lost_answers_to_reservation_and_commit_still_publish_one_version(seaweed, tmp_path, trained_data):
    """S3 applies the PUTs of <N>/.reserved and <N>/.committed but their
    answers are lost: the client's retry gets 412 and must recognise its own
    write. `train` exits 0 with version 1, no number is burned, and watch
    then finds the data trained (no duplicate version)."""
    csv, params = trained_data
    stores, proxy = s3_with_data(seaweed, tmp_path, csv)
    with proxy:
        proxy.drop_answers(r"^PUT /[^ ]*/1/\.reserved ")
        proxy.drop_answers(r"^PUT /[^ ]*/1/\.committed ")
        r = stores.run("train", "--params", params, "--json", check=False,
                       extra_env=through(stores, proxy.endpoint))
        assert len(proxy.dropped) == 2, "\n".join(proxy.seen) + r.stderr
        # The retries reached the server again (and got "already exists").
        assert sum(".committed" in line for line in proxy.seen) >= 2, proxy.seen
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 1
    assert committed(stores) == [1]
    assert folders(stores) == ["1"], "no version number burned by the lost reservation answer"
    again = stores.run("watch", "--once", "--debounce", "0")
    assert committed(stores) == [1], again.stderr


def test_watch_with_lost_answers_trains_once(seaweed, tmp_path, trained_data):
    """The watcher's lease, reservation and commit answers are all lost once:
    it still trains exactly once, and a second pass is up to date."""
    csv, params = trained_data
    stores, proxy = s3_with_data(seaweed, tmp_path, csv)
    with proxy:
        for key in (r"leases/[^ ]*\.json", r"1/\.reserved", r"1/\.committed"):
            proxy.drop_answers(rf"^PUT /[^ ]*/{key} ")
        r = stores.run("watch", "--once", "--debounce", "0", "--params", params, check=False,
                       extra_env=through(stores, proxy.endpoint))
        assert len(proxy.dropped) == 3, proxy.seen
    assert r.returncode == 0, r.stderr
    assert committed(stores) == [1]
    again = stores.run("watch", "--once", "--debounce", "0")
    assert "up to date" in again.stderr and committed(stores) == [1], again.stderr


def test_put_if_absent_retry_through_toxiproxy_recognises_only_its_own_bytes(seaweed, tmp_path):
    """Toxiproxy drops every answer (downstream `timeout` toxic) while
    `store put --if-absent` keeps retrying; the object lands on the first
    attempt. Once answers flow again: identical bytes -> exit 0; bytes
    replaced by someone else meanwhile -> exit 4 (already exists)."""
    stores = make_s3_stores(seaweed, tmp_path)
    client = seaweed.client()
    bucket = stores.buckets["models"]
    mine = tmp_path / "mine.json"
    mine.write_text('{"owner": "me", "token": "1f2e"}\n')
    env = {"MODELBAY_S3_MAX_ATTEMPTS": "60", "MODELBAY_S3_STALL_TIMEOUT_S": "5"}

    def exists(key):
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None

    with Toxiproxy(tmp_path / "toxi").start() as tp:
        proxy = tp.proxy("s3", seaweed.endpoint.removeprefix("http://"))
        endpoint = proxy.endpoint
        for key, someone_else in (("own.json", None), ("theirs.json", b'{"owner": "another"}\n')):
            lose_answers = proxy.add("timeout", stream="downstream", timeout=500)
            proc = stores.popen("store", "put", "models", key, mine, "--if-absent",
                                extra_env={**env, **through(stores, endpoint)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_until(lambda: exists(key) is not None, 60, f"{key} applied behind the toxic")
            if someone_else:
                client.put_object(Bucket=bucket, Key=key, Body=someone_else)
            proxy.remove(lose_answers)
            out, err = proc.communicate(timeout=120)
            if someone_else:
                assert proc.returncode == 4, err
                assert "already exists" in err
            else:
                assert proc.returncode == 0, err
                assert exists(key) == mine.read_bytes()
    other = tmp_path / "other.json"
    other.write_text('{"owner": "another writer"}\n')
    again = stores.run("store", "put", "models", "own.json", other, "--if-absent", check=False)
    assert again.returncode == 4 and "already exists" in again.stderr
    assert stores.run("store", "put", "models", "own.json", mine, "--if-absent").returncode == 0


def test_head_on_a_missing_bucket_is_the_clear_error(seaweed, tmp_path):
    stores = make_s3_stores(seaweed, tmp_path)
    env = {"MODEL_ARTIFACTS_STORE": "s3://mb-no-such-bucket-x1"}
    for args in (("store", "stat", "models", "1/.committed"), ("store", "cat", "models", "1/.committed"),
                 ("models", "promote", "1")):
        r = stores.run(*args, check=False, extra_env=env)
        assert r.returncode != 0, args
        assert "bucket mb-no-such-bucket-x1 does not exist" in r.stderr, (args, r.stderr)


def _two_versions(stores, tmp_path):
    csv = tmp_path / "churn.csv"
    params = tmp_path / "params.json"
    params.write_text(PARAMS)
    stores.run("sample-data", "--rows", "400", "--out", csv)
    stores.run("upload", csv)
    stores.run("train", "--params", params, "--promote", "always")
    stores.run("train", "--params", params, "--promote", "never")


def test_damaged_entries_are_listed_and_everything_else_works(local_stores, tmp_path):
    stores = local_stores
    _two_versions(stores, tmp_path)
    stores.write("models", "aliases/broken.json", b"{not json")
    stores.write("models", "aliases/dots.json", b'{"version": "../1"}')
    stores.write("models", "aliases/staging.json", b'{"version": 7}')
    root = tmp_path / ".modelbay" / "models"
    shutil.copytree(root / "2", root / "3")          # cp -r 2 3
    (root / "4").symlink_to(root / "1", target_is_directory=True)

    listing = stores.run("models", "list", "--json")
    out = json.loads(listing.stdout)
    assert set(out["damaged_aliases"]) == {"broken", "dots"}
    assert "not valid JSON" in out["damaged_aliases"]["broken"]
    assert "alias 'broken' is damaged" in listing.stderr
    by_version = {v["version"]: v for v in out["versions"]}
    assert sorted(by_version) == [1, 2, 3], "a symlinked folder is not a version"
    assert "error" not in by_version[1] and "error" not in by_version[2]
    assert "3/.committed says it is version 2, not 3" in by_version[3]["error"]
    assert out["aliases"]["production"] == 1

    assert json.loads(stores.run("models", "show", "1", "--json").stdout)["version"] == 1
    for spec, code, text in (("3", 8, "copied, renamed or linked by hand"),
                             ("4", 8, "4/.committed says it is version 1, not 4"),
                             ("staging", 3, "alias 'staging' points to version 7"),
                             ("broken", 8, "aliases/broken.json is not valid JSON")):
        r = stores.run("models", "show", spec, check=False)
        assert r.returncode == code and text in r.stderr, (spec, r.returncode, r.stderr)
    for spec in ("3", "4"):  # one rule for list, show and promote
        r = stores.run("models", "promote", spec, check=False)
        assert r.returncode != 0, spec
    r = stores.run("models", "show", "01", check=False)
    assert r.returncode == 2 and "leading zeros" in r.stderr


def test_server_keeps_serving_past_damaged_entries_and_logs_each_once(local_stores, tmp_path):
    stores = local_stores
    _two_versions(stores, tmp_path)
    root = tmp_path / ".modelbay" / "models"
    stores.write("models", "aliases/broken.json", b"{not json")
    shutil.copytree(root / "2", root / "3")  # a damaged `latest`
    row = [["aa", 2, 2]]
    with Server(stores, args=["--alias-refresh", "0.2"]) as srv:
        srv.wait_ready()
        assert srv.infer(row).json()["model_version"] == "1"  # production
        assert srv.infer(row, version="2").json()["model_version"] == "2"
        broken = srv.infer(row, version="broken")
        assert broken.status_code == 503 and "damaged" in broken.json()["message"], broken.text
        latest = srv.infer(row, version="latest")
        assert latest.status_code == 503, latest.text
        # Many refreshes later, each problem was logged once.
        reads = lambda: srv.metrics().get('modelbay_store_reads_total{kind="list"}', 0)
        start = reads()
        wait_for(lambda: reads() >= start + 15, timeout=120, what="15 refreshes")
        # (Each 503 answered is also logged, once per request, as "warning 503 ...":
        # those are the requests above, not the refreshes.)
        log = srv.log_text()
        refresh_lines = "\n".join(l for l in log.splitlines() if " warning 503 " not in l)
        assert refresh_lines.count("aliases/broken.json is not valid JSON") == 1, log[-3000:]
        assert refresh_lines.count("3/.committed says it is version 2") == 1, log[-3000:]
        assert srv.infer(row, version="1").status_code == 200


def test_malformed_model_version_is_400_like_the_cli(local_stores, tmp_path):
    """One parser for versions: what the CLI refuses as malformed, HTTP
    answers 400 with a message about the version (not 404)."""
    stores = local_stores
    csv = tmp_path / "churn.csv"
    stores.run("sample-data", "--rows", "300", "--out", csv)
    stores.run("upload", csv)
    (tmp_path / "p.json").write_text(PARAMS)
    stores.run("train", "--params", tmp_path / "p.json")
    with Server(stores) as srv:
        srv.wait_ready()
        for version in ["01", "1.0", "-1", "../1", " 1", "latest ", "99999999999", -1, 10 ** 12]:
            r = srv.infer([["aa", 2, 2]], version=version)
            assert r.status_code == 400, (version, r.text)
            assert "not a valid version" in r.json()["message"], r.text
        assert srv.infer([["aa", 2, 2]], version="1").status_code == 200
        assert srv.infer([["aa", 2, 2]], version="7").status_code == 404
    for version in ["01", "1.0", "../1", "latest "]:
        cli = stores.run("models", "show", version, check=False)
        assert cli.returncode == 2 and "not a valid version" in cli.stderr, (version, cli.stderr)


def test_huge_integer_model_version_is_a_400_about_the_version(local_stores, tmp_path):
    stores = local_stores
    with Server(stores) as srv:
        r = srv.post("/inference", data='{"data": [["aa", 2, 2]], "model_version": 123456789012345678901234567890}',
                     headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert "model_version must be a version number" in r.json()["message"], r.text
