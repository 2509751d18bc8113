"""Issue 12 §3 and §5 against the real binary: data that looks numeric is
numeric, numeric options are range-checked, /ready tells the truth, HEAD,
no URL password in `config`, and a NUL in a request never reaches the
exported CSV.
"""
from __future__ import annotations

import csv
import json
import socket

import pytest
import requests

from conftest import make_local_stores
from serve_util import Server, wait_for

SEED_BODY = {"data": [["aa", 2, 2]], "model_version": "1"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    stores = make_local_stores(tmp_path_factory.mktemp("hardening"))
    stores.run("sample-data", "--rows", "1000", "--seed", "3", "--out", "churn.csv")
    stores.run("upload", "churn.csv")
    stores.run("train", "--quiet", "--params", _params(stores.cwd))
    return stores


def _params(cwd) -> str:
    p = cwd / "params.json"
    p.write_text(json.dumps({"num_boost_round": 10}))
    return str(p)


# --- options are range-checked (issue 12 §5) ----------------------------------------

@pytest.mark.parametrize("args, option", [
    (["serve", "--alias-refresh", "nan"], "--alias-refresh"),
    (["serve", "--read-timeout", "1e300"], "--read-timeout"),
    (["serve", "--write-timeout", "inf"], "--write-timeout"),
    (["serve", "--threads", "100000"], "--threads"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--max-rows", "0"], "--max-rows"),
    (["serve", "--max-body-bytes=-1"], "--max-body-bytes"),
    (["serve", "--ship-interval-ms", "0"], "--ship-interval-ms"),
    (["train", "--tolerance", "nan"], "--tolerance"),
    (["watch", "--interval", "inf"], "--interval"),
    (["watch", "--debounce=-1"], "--debounce"),
    (["watch", "--grace", "nan"], "--grace"),
    (["worker", "--lease-ttl", "nan"], "--lease-ttl"),
    (["predict", "x.csv", "--batch-size", "0"], "--batch-size"),
    (["sample-data", "--out", "x.csv", "--rows", "0"], "--rows"),
    (["results", "export", "--version", "0"], "--version"),
])
def test_numeric_options_out_of_range_are_clear_errors(tmp_path, args, option):
    stores = make_local_stores(tmp_path)
    proc = stores.run(*args, check=False, timeout=30)
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr
    assert option in err, err
    assert " from " in err and " to " in err, err  # the accepted range is named
    assert "serving on" not in proc.stdout


# --- config never prints a password in a URL -----------------------------------------

def test_config_hides_password_in_endpoint_url(tmp_path):
    stores = make_local_stores(tmp_path)
    out = stores.run("config", extra_env={"AWS_ENDPOINT_URL": "http://alice:s3cr3tpw@127.0.0.1:9/"}).stdout
    assert "s3cr3tpw" not in out
    assert "AWS_ENDPOINT_URL=http://***@127.0.0.1:9/" in out


# --- HEAD, NUL, /ready over the wire -------------------------------------------------

def _head_raw(server, path: str) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_head_answers_like_get_without_a_body(trained, tmp_path):
    with Server(trained, spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        for path in ["/health", "/ready", "/models", "/models/1", "/openapi.json"]:
            get = srv.get(path)
            head = srv.session.head(srv.url + path, timeout=30)
            assert head.status_code == get.status_code == 200, path
            assert head.content == b""
            assert int(head.headers["Content-Length"]) == len(get.content), path
            raw = _head_raw(srv, path)
            assert raw.endswith(b"\r\n\r\n"), raw[-200:]  # the headers and nothing after them
        r = srv.session.head(srv.url + "/inference", timeout=30)
        assert r.status_code == 405 and r.headers["Allow"] == "POST"
        assert srv.get("/inference").headers["Allow"] == "POST"
        assert srv.post("/ready").headers["Allow"] == "GET, HEAD"


def test_nul_in_a_string_is_refused_and_the_export_reads_back(trained, tmp_path):
    with Server(trained, spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        bad = srv.post("/inference", data='{"data": [["a\\u0000b", 2, 2]], "model_version": "1"}',
                       headers={"Content-Type": "application/json"})
        assert bad.status_code == 400, bad.text
        assert "\\u0000" in bad.json()["message"]
        ok = [srv.infer([["x\u0001y \u00e9", 2, 2]], "1"), srv.infer([["aa", 3, 1]], "1")]
        assert all(r.status_code == 200 for r in ok), [r.text for r in ok]
    out = tmp_path / "results_1.csv"
    trained.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = {r.headers["X-Request-Id"] for r in ok}
    mine = [r for r in rows if r["request_id"] in ids]
    assert sorted(r["Country"] for r in mine) == sorted(["x\u0001y \u00e9", "aa"])
    assert not any("\0" in v for r in rows for v in r.values())


def test_ready_is_degraded_while_the_results_store_refuses(trained, tmp_path):
    # A results store whose folder cannot be created (its parent is a file):
    # every shipment fails while requests still succeed from the spool.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    env = {"RESULTS_STORE": str(blocked / "results")}
    with Server(trained, spool=tmp_path / "spool", extra_env=env, args=["--ship-interval-ms", "100"]) as srv:
        srv.wait_ready()
        assert srv.infer([["aa", 2, 2]], "1").status_code == 200  # spooled locally
        # (a list: a 503 Response is falsy)
        [r] = wait_for(lambda: (lambda x: [x] if x.status_code == 503 else None)(srv.get("/ready")),
                       60, "/ready turns 503")
        body = r.json()
        assert body["status"] == "degraded"
        assert "results store" in body["reason"], body
        assert str(tmp_path) not in r.text
        assert int(r.headers["Retry-After"]) > 0
        assert srv.infer([["aa", 2, 2]], "1").status_code == 200  # still answering
        blocked.unlink()  # the store comes back
        wait_for(lambda: srv.get("/ready").status_code == 200, 90, "/ready back to 200")


# --- data that looks numeric is numeric (issue 12 §3) ---------------------------------

def _with_stray_token(stores, token: str) -> None:
    lines = (stores.cwd / "churn.csv").read_text().splitlines()
    header = lines[0].split(",")
    count = header.index("Count")
    cells = lines[7].split(",")
    cells[count] = f'"{token}"'
    lines[7] = ",".join(cells)
    (stores.cwd / "stray.csv").write_text("\n".join(lines) + "\n")


def test_stray_token_keeps_count_numeric_warned_and_recorded(tmp_path):
    stores = make_local_stores(tmp_path)
    stores.run("sample-data", "--rows", "2000", "--seed", "5", "--out", "churn.csv")
    _with_stray_token(stores, "?")
    stores.run("upload", "stray.csv")
    proc = stores.run("train", "--params", _params(tmp_path), "--data", "stray.csv")
    assert "column 'Count' is numeric: 1 cell(s) that are not numbers are read as missing (\"?\")" in proc.stderr
    assert "line 8 of" in proc.stderr
    meta = json.loads(stores.run("models", "show", "1", "--json").stdout)
    counts = {f["name"]: f["type"] for f in meta["schema"]["features"]}
    assert counts["Count"] == "numeric"
    [stray] = meta["stray_tokens"]
    assert stray.pop("first_source").endswith("stray.csv")  # where the data store keeps it
    assert stray == {"column": "Count", "cells": 1, "first_line": 8, "tokens": ["?"], "forced": False}


def test_column_type_categorical_matches_numbers_by_value(tmp_path):
    stores = make_local_stores(tmp_path)
    stores.run("sample-data", "--rows", "2000", "--seed", "5", "--out", "churn.csv")
    stores.run("upload", "churn.csv")
    stores.run("train", "--quiet", "--params", _params(tmp_path), "--column-type", "Count=categorical")
    meta = json.loads(stores.run("models", "show", "1", "--json").stdout)
    assert {f["name"]: f["type"] for f in meta["schema"]["features"]}["Count"] == "categorical"
    assert meta["column_types"] == {"Count": "categorical"}
    pre = json.loads(stores.read("models", "1/preprocessor.json"))
    count = next(f for f in pre["features"] if f["name"] == "Count")
    assert "5" in count["categories"] and "5.0" not in count["categories"]
    bad = stores.run("train", "--quiet", "--column-type", "Count=text", check=False)
    assert bad.returncode != 0 and "COLUMN=numeric or COLUMN=categorical" in bad.stderr
    with Server(stores, spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        rows = [["aa", "5", 2], ["aa", "5.0", 2], ["aa", 5, 2], ["aa", 5.0, 2], ["aa", " 5e0 ", 2]]
        r = srv.infer(rows, "1")
        assert r.status_code == 200, r.text
        probs = r.json()["probabilities"]
        assert all(p == probs[0] for p in probs), probs
