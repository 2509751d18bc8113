"""`modelbay cleanup` (the seed's cleanup.py before terraform destroy):
against a versioned SeaweedFS bucket every object version and delete marker
goes; --dry-run deletes nothing; without --yes and without a terminal it
refuses. Checked with boto3's list_object_versions."""
from __future__ import annotations

import os
import pty
import subprocess

import pytest

from conftest import make_s3_stores, modelbay_binary
from drop_proxy import AnswerDroppingProxy


def versions(stores, which):
    client = stores.s3.client()
    r = client.list_object_versions(Bucket=stores.buckets[which])
    return r.get("Versions", []), r.get("DeleteMarkers", [])


@pytest.fixture
def versioned(seaweed, tmp_path):
    """data: a.csv (2 versions), b.csv (deleted: 1 version + 1 delete marker),
    c.csv (1 version). models: one object. results: empty."""
    s = make_s3_stores(seaweed, tmp_path, versioned=True)
    client = seaweed.client()
    data = s.buckets["data"]
    client.put_object(Bucket=data, Key="a.csv", Body=b"v1")
    client.put_object(Bucket=data, Key="a.csv", Body=b"v2")
    client.put_object(Bucket=data, Key="b.csv", Body=b"gone")
    client.delete_object(Bucket=data, Key="b.csv")
    client.put_object(Bucket=data, Key="dir/c d.csv", Body=b"c")
    client.put_object(Bucket=s.buckets["models"], Key="1/model.json", Body=b"{}")
    vs, dms = versions(s, "data")
    assert (len(vs), len(dms)) == (4, 1)  # the server keeps versions as AWS does
    return s


def test_dry_run_reports_counts_and_deletes_nothing(versioned):
    r = versioned.run("cleanup", "--dry-run")
    assert "2 objects, 2 old versions, 1 delete markers" in r.stdout, r.stdout
    assert "1 objects, 0 old versions, 0 delete markers" in r.stdout
    assert "nothing deleted" in r.stdout
    vs, dms = versions(versioned, "data")
    assert (len(vs), len(dms)) == (4, 1)


def test_refuses_without_yes_when_stdin_is_not_a_terminal(versioned):
    r = versioned.run("cleanup", check=False, input="y\n")
    assert r.returncode == 5, r.stderr
    assert "--yes" in r.stderr
    vs, _ = versions(versioned, "data")
    assert len(vs) == 4


def test_yes_removes_every_version_and_delete_marker(versioned):
    r = versioned.run("cleanup", "--yes")
    assert "deleted 2 objects, 2 old versions, 1 delete markers" in r.stdout, r.stdout
    for which in ("data", "models", "results"):
        assert versions(versioned, which) == ([], []), which
    # Empty buckets can now be destroyed (what the seed's cleanup was for).
    client = versioned.s3.client()
    for b in versioned.buckets.values():
        client.delete_bucket(Bucket=b)


def test_store_option_limits_what_is_deleted(versioned):
    versioned.run("cleanup", "--store", "models", "--yes")
    assert versions(versioned, "models") == ([], [])
    vs, dms = versions(versioned, "data")
    assert (len(vs), len(dms)) == (4, 1)


def test_terminal_answer_no_keeps_everything(versioned):
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(modelbay_binary()), "cleanup", "--store", "data"], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=versioned.env, cwd=versioned.cwd)
    os.close(follower)
    os.write(leader, b"n\n")
    out, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, err
    assert b"[y/N]" in out and b"nothing deleted" in out
    vs, _ = versions(versioned, "data")
    assert len(vs) == 4


def test_unversioned_bucket_and_local_folders(s3_stores, local_stores):
    for stores in (s3_stores, local_stores):
        stores.write("data", "x/1.csv", b"1")
        stores.write("results", "results_1.csv", b"r")
        r = stores.run("cleanup", "--yes")
        assert "deleted 1 objects" in r.stdout, r.stdout
        assert stores.list_keys("data") == [] and stores.list_keys("results") == []
    assert "nothing to delete" in local_stores.run("cleanup", "--yes").stdout


def test_a_delete_answer_that_is_not_a_delete_result_is_an_error(seaweed, tmp_path):
    """A 200 to DeleteObjects that is not a DeleteResult (an HTML page from
    a wrong endpoint, a truncated body) confirms nothing: cleanup must say so
    instead of reporting the objects deleted."""
    stores = make_s3_stores(seaweed, tmp_path)
    stores.write("data", "x/1.csv", b"1")
    host, port = seaweed.endpoint.rsplit("//", 1)[1].split(":")
    for body in (b"<html><body>Welcome</body></html>", b"not xml at all"):
        with AnswerDroppingProxy(host, int(port)) as proxy:
            proxy.replace_answers(r"^POST /[^ ]*\?delete",
                                  b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            r = stores.run("cleanup", "--store", "data", "--yes", check=False,
                           extra_env={"AWS_ENDPOINT_URL": proxy.endpoint})
            assert proxy.dropped, proxy.seen
        assert r.returncode != 0, (body, r.stdout, r.stderr)
        assert "DeleteObjects s3://" in r.stderr and "the server's answer is not" in r.stderr, (body, r.stderr)
        assert "deleted" not in r.stdout, r.stdout
        stores.write("data", "x/1.csv", b"1")  # the server did delete it; the next round needs it back
