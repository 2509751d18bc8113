"""The store contract, run against a local folder and a real S3 server
(SeaweedFS with signature checking) through `modelbay store`, and checked
with independent clients (the file system, boto3)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from conftest import make_s3_stores, modelbay_binary

# Exit codes from core/status.cc ExitCodeFor.
EXIT_INVALID, EXIT_NOT_FOUND, EXIT_EXISTS, EXIT_PRECONDITION, EXIT_DENIED, EXIT_UNAVAILABLE = 2, 3, 4, 5, 6, 7


def test_put_cat_ls_rm_round_trip(stores, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,2\n")
    stores.run("store", "put", "data", "uploads/one.csv", src)
    stores.run("store", "put", "data", "uploads/two.csv", "-", input="x,y\n3,4\n")
    stores.run("store", "put", "data", "other/three.csv", src)

    assert stores.read("data", "uploads/one.csv") == b"a,b\n1,2\n"
    assert stores.run("store", "cat", "data", "uploads/two.csv").stdout == "x,y\n3,4\n"
    assert stores.run("store", "ls", "data").stdout.splitlines() == [
        "other/three.csv", "uploads/one.csv", "uploads/two.csv"]
    assert stores.run("store", "ls", "data", "uploads/").stdout.splitlines() == [
        "uploads/one.csv", "uploads/two.csv"]
    stat = json.loads(stores.run("store", "stat", "data", "uploads/one.csv").stdout)
    assert stat["size"] == 8 and stat["etag"]

    stores.run("store", "rm", "data", "uploads/one.csv", "never/existed.csv")
    assert stores.list_keys("data") == ["other/three.csv", "uploads/two.csv"]


def test_overwrite_replaces_content(stores):
    stores.run("store", "put", "models", "aliases.json", "-", input='{"production": 1}')
    stores.run("store", "put", "models", "aliases.json", "-", input='{"production": 2}')
    assert stores.read("models", "aliases.json") == b'{"production": 2}'


def test_unicode_and_spaces_in_keys(stores, tmp_path):
    key = "données/été 2024/résultats (final) + copie=1&x.csv"
    stores.run("store", "put", "results", key, "-", input="ü,ß\n")
    assert stores.list_keys("results") == [key]
    assert stores.read("results", key) == "ü,ß\n".encode()
    assert stores.run("store", "ls", "results", "données/").stdout.splitlines() == [key]
    out = tmp_path / "back.csv"
    stores.run("store", "get", "results", key, out)
    assert out.read_bytes() == "ü,ß\n".encode()


def test_objects_written_by_other_clients_are_read(stores):
    stores.write("data", "from-boto/x y.csv", b"col\n\xe2\x82\xac\n")
    assert stores.run("store", "cat", "data", "from-boto/x y.csv").stdout == "col\n€\n"
    assert stores.run("store", "ls", "data").stdout.splitlines() == ["from-boto/x y.csv"]


def test_put_if_absent_refuses_to_overwrite(stores):
    stores.run("store", "put", "models", "versions/1", "-", "--if-absent", input="first")
    second = stores.run("store", "put", "models", "versions/1", "-", "--if-absent", input="second", check=False)
    assert second.returncode == EXIT_EXISTS, second.stderr
    assert "already exists" in second.stderr
    assert stores.read("models", "versions/1") == b"first"


def test_put_if_absent_race_has_exactly_one_winner(stores):
    procs = [stores.popen("store", "put", "models", "versions/7", "-", "--if-absent", stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    for i, p in enumerate(procs):
        p.stdin.write(f"writer-{i}".encode())
        p.stdin.close()
    codes = [p.wait(timeout=60) for p in procs]
    winners = [i for i, c in enumerate(codes) if c == 0]
    assert len(winners) == 1, codes
    assert all(c in (0, EXIT_EXISTS) for c in codes), codes
    assert stores.read("models", "versions/7") == f"writer-{winners[0]}".encode()


def test_missing_key_is_a_clear_not_found(stores):
    r = stores.run("store", "cat", "data", "nope/missing.csv", check=False)
    assert r.returncode == EXIT_NOT_FOUND
    assert "nope/missing.csv" in r.stderr and "not found" in r.stderr


def test_invalid_key_is_rejected(stores):
    r = stores.run("store", "put", "data", "../escape.csv", "-", input="x", check=False)
    assert r.returncode == EXIT_INVALID
    assert "escape.csv" in r.stderr


def test_large_file_goes_multipart_and_reads_back_exactly(s3_stores, tmp_path):
    big = tmp_path / "big.bin"
    data = os.urandom(40 * 1024 * 1024 + 12345)
    big.write_bytes(data)
    s3_stores.run("store", "put", "data", "big/large file.bin", big)

    client = s3_stores.s3.client()
    head = client.head_object(Bucket=s3_stores.buckets["data"], Key="big/large file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # three 16 MiB parts
    assert hashlib.sha256(s3_stores.read("data", "big/large file.bin")).digest() == hashlib.sha256(data).digest()
    assert not client.list_multipart_uploads(Bucket=s3_stores.buckets["data"]).get("Uploads")

    back = tmp_path / "back.bin"
    s3_stores.run("store", "get", "data", "big/large file.bin", back)
    assert back.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir() if ".mbtmp" in p.name] == []


def test_store_prefix_is_kept_out_of_keys(seaweed, tmp_path):
    s = make_s3_stores(seaweed, tmp_path)
    env = {"DATA_STORE": f"s3://{s.buckets['data']}/team/a/"}
    s.run("store", "put", "data", "x.csv", "-", input="1", extra_env=env)
    assert s.list_keys("data") == ["team/a/x.csv"]
    assert s.run("store", "ls", "data", extra_env=env).stdout.splitlines() == ["x.csv"]
    s.write("data", "team/b/y.csv", b"2")  # outside the prefix
    assert s.run("store", "ls", "data", extra_env=env).stdout.splitlines() == ["x.csv"]


def test_wrong_secret_is_a_clear_error_without_the_secret(s3_stores):
    bad = "WRONG/secret+value/that/must/not/leak"
    r = s3_stores.run("store", "ls", "data", check=False, extra_env={"AWS_SECRET_ACCESS_KEY": bad})
    assert r.returncode == EXIT_DENIED, r.stderr
    assert "AWS_SECRET_ACCESS_KEY" in r.stderr
    assert bad not in r.stderr + r.stdout
    assert s3_stores.s3.secret_key not in r.stderr + r.stdout
    assert "Signature=" not in r.stderr


def test_unknown_access_key_is_a_clear_error(s3_stores):
    r = s3_stores.run("store", "cat", "data", "x", check=False, extra_env={"AWS_ACCESS_KEY_ID": "NOSUCHKEY123"})
    assert r.returncode == EXIT_DENIED, r.stderr
    assert "AWS_ACCESS_KEY_ID" in r.stderr


def test_missing_bucket_is_a_clear_error(s3_stores):
    r = s3_stores.run("store", "ls", "data", check=False, extra_env={"DATA_STORE": "s3://no-such-bucket-mb"})
    assert r.returncode == EXIT_PRECONDITION, r.stderr
    assert "no-such-bucket-mb does not exist" in r.stderr
    assert s3_stores.s3.endpoint in r.stderr
    assert "aws s3 mb" in r.stderr


def test_unreachable_endpoint_is_unavailable_after_retries(s3_stores):
    from servers import free_port
    r = s3_stores.run("store", "ls", "data", check=False, timeout=60, extra_env={
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "MODELBAY_S3_MAX_ATTEMPTS": "3"})
    assert r.returncode == EXIT_UNAVAILABLE, r.stderr
    assert "after 3 attempts" in r.stderr


def test_no_credentials_anywhere_is_a_clear_error(s3_stores):
    env = {k: v for k, v in s3_stores.env.items() if not k.startswith("AWS_ACCESS") and k != "AWS_SECRET_ACCESS_KEY"}
    r = subprocess.run([str(modelbay_binary()), "store", "ls", "data"], env=env, cwd=s3_stores.cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == EXIT_DENIED, r.stderr
    assert "no AWS credentials found" in r.stderr


def test_shared_credentials_file_profile_is_used(s3_stores, tmp_path):
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n"
                     f"[modelbay]\naws_access_key_id = {s3_stores.s3.access_key}\n"
                     f"aws_secret_access_key = {s3_stores.s3.secret_key}\n")
    env = {k: v for k, v in s3_stores.env.items() if not k.startswith("AWS_ACCESS") and k != "AWS_SECRET_ACCESS_KEY"}
    env.update({"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_PROFILE": "modelbay"})
    s3_stores.write("data", "p.csv", b"ok")
    r = subprocess.run([str(modelbay_binary()), "store", "cat", "data", "p.csv"], env=env, cwd=s3_stores.cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok"
