"""`modelbay serve` against a trained model on local stores: the seed's
contract, every error row of DESIGN §5, malformed HTTP, metrics, and
schemathesis against /openapi.json.

With MODELBAY_ASAN_BIN set (an ASan/UBSan build of modelbay), every test that
uses `server` also runs against that binary, and its log must hold no
sanitizer report.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import make_trained_stores
from serve_util import Server, wait_for

SEED_BODY = {"data": [["aa", 2, 2]], "model_version": "1"}
TOKEN = "s3cr3t-token-for-tests"

BINARIES = ["release"] + (["asan"] if os.environ.get("MODELBAY_ASAN_BIN") else [])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Local stores holding one trained version (the seed's columns)."""
    return make_trained_stores(tmp_path_factory.mktemp("serve"))


def _sanitizer_report(log: str) -> str | None:
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        if marker in log:
            return log[log.index(marker) - 200:][:4000]
    return None


@pytest.fixture(scope="module", params=BINARIES)
def server(request, trained):
    binary = os.environ["MODELBAY_ASAN_BIN"] if request.param == "asan" else None
    srv = Server(trained, binary=binary, ready_timeout=120,
                 args=["--threads", "2", "--alias-refresh", "0.5", "--read-timeout", "2",
                       "--max-rows", "50", "--max-body-bytes", "65536"])
    srv.start()
    srv.wait_ready(60)
    yield srv
    srv.stop()
    report = _sanitizer_report(srv.log_text())
    assert report is None, f"sanitizer report in the {request.param} server's log:\n{report}"


def assert_error(r: requests.Response, status: int, *words: str):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "message"}, body
    for w in words:
        assert w in body["message"], (w, body["message"])
    return body


# --- the seed's contract ---------------------------------------------------------------

def test_seed_request_with_curl(server):
    out = subprocess.run(
        ["curl", "-sS", "-X", "POST", f"{server.url}/inference", "-H", "Content-Type: application/json",
         "-d", json.dumps(SEED_BODY)], capture_output=True, text=True, timeout=30, check=True).stdout
    body = json.loads(out)
    assert body["message"] == "inference completed"
    assert body["model_version"] == "1"
    assert len(body["predictions"]) == 1 and body["predictions"][0] in (0, 1)
    (probs,) = body["probabilities"]
    assert len(probs) == 2 and abs(sum(probs) - 1) < 1e-5
    assert probs.index(max(probs)) == body["predictions"][0]
    assert body["request_id"]


def test_rows_as_objects_score_like_lists(server):
    rows = [["aa", 2, 2], ["bb", 10, 500], [None, 0, 7]]
    as_lists = server.infer(rows, "1").json()
    objects = [{"Country": c, "Count": n, "id": i} for c, n, i in rows]
    objects[1] = {"id": 500, "Count": 10, "Country": "bb"}  # any key order
    as_objects = server.infer(objects, 1).json()
    assert as_objects["predictions"] == as_lists["predictions"]
    assert as_objects["probabilities"] == as_lists["probabilities"]


def test_request_ids_echoed_or_unique(server):
    r = server.post("/inference", json=SEED_BODY, headers={"X-Request-Id": "client-42"})
    assert r.json()["request_id"] == "client-42" == r.headers["X-Request-Id"]
    ids = {server.post("/inference", json=SEED_BODY).json()["request_id"] for _ in range(20)}
    assert len(ids) == 20
    bad = server.post("/inference", json=SEED_BODY, headers={"X-Request-Id": "has spaces & stuff"})
    assert bad.json()["request_id"] != "has spaces & stuff"


def test_default_version_and_aliases(server):
    for version in (None, "latest", "production", 1):
        r = server.infer([["aa", 2, 2]], version)
        assert r.status_code == 200 and r.json()["model_version"] == "1", (version, r.text)


# --- errors, DESIGN §5 ----------------------------------------------------------------

def test_400_malformed_json(server):
    r = server.post("/inference", data=b'{"data": [["aa", 2, 2]', headers={"Content-Type": "application/json"})
    assert_error(r, 400, "not valid JSON")


def test_400_wrong_row_length(server):
    assert_error(server.infer([["aa", 2, 2], ["aa", 2]], "1"), 400, "row 1", "expects 3", "Country, Count, id")


def test_400_non_number_in_numeric_column_names_row_and_column(server):
    body = assert_error(server.infer([["aa", 2, 2], ["aa", "lots", 2]], "1"), 400)
    assert "row 1" in body["message"] and "Count" in body["message"], body


def test_400_bad_model_version_type_and_empty_data(server):
    assert_error(server.post("/inference", json={"data": [["aa", 2, 2]], "model_version": [1]}), 400,
                 "model_version")
    assert_error(server.post("/inference", json={"data": []}), 400, "empty")
    assert_error(server.post("/inference", json={"rows": [["aa", 2, 2]]}), 400, "no \"data\"")


def test_404_unknown_version_alias_and_route(server):
    assert_error(server.infer([["aa", 2, 2]], "99"), 404, "99", "available versions: 1")
    assert_error(server.infer([["aa", 2, 2]], "staging"), 404, "staging")
    assert_error(server.get("/models/42"), 404)
    assert_error(server.get("/nope"), 404, "/nope")


def test_405_wrong_method(server):
    r = server.get("/inference")
    assert_error(r, 405)
    assert r.headers["Allow"] == "POST"


def test_413_rows_and_body(server):
    assert_error(server.infer([["aa", 2, 2]] * 51, "1"), 413, "51 rows", "limit is 50")
    # 10 rows (under --max-rows) of ~10 kB each: only the body limit applies.
    big = json.dumps({"data": [["a" * 10000, 2, 2]] * 10, "model_version": "1"})
    assert len(big) > 65536
    assert_error(server.post("/inference", data=big, headers={"Content-Type": "application/json"}), 413,
                 "65536 bytes")
    assert server.get("/health").status_code == 200


def test_415_not_json(server):
    r = server.post("/inference", data="data=aa,2,2", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "application/json")
    assert_error(server.post("/inference", data=json.dumps(SEED_BODY)), 415)  # no Content-Type


def test_models_routes(server):
    models = server.get("/models").json()
    assert models["versions"] == [1] and models["default"] == 1 and models["aliases"]["latest"] == 1
    meta = server.get("/models/1").json()
    assert meta["version"] == 1 and meta == server.get("/models/latest").json()
    assert server.get("/ready").json() == {"status": "ready", "model_version": "1"}


# --- metrics and the model cache -----------------------------------------------------

def test_second_request_downloads_nothing(server):
    server.infer([["aa", 2, 2]], "1")
    before = server.metrics()
    for _ in range(5):
        assert server.infer([["aa", 2, 2]], "1").status_code == 200
    after = server.metrics()
    assert after['modelbay_store_reads_total{kind="fetch"}'] == before['modelbay_store_reads_total{kind="fetch"}']
    assert after["modelbay_model_cache_hits_total"] >= before["modelbay_model_cache_hits_total"] + 5
    assert after['modelbay_rows_predicted_total{model="default",version="1"}'] >= before['modelbay_rows_predicted_total{model="default",version="1"}'] + 5


def test_metrics_pass_promtool(server):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus, see scripts/install-deps.sh)")
    server.infer([["aa", 2, 2]], "1")
    text = server.get("/metrics")
    assert text.headers["Content-Type"].startswith("text/plain")
    proc = subprocess.run([promtool, "check", "metrics"], input=text.text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'modelbay_http_requests_total{route="/inference",status="200"}' in text.text
    assert "modelbay_inference_duration_seconds_bucket" in text.text
    assert "modelbay_spool_backlog_rows" in text.text


# --- malformed HTTP ------------------------------------------------------------------

def _raw(server, payload: bytes, read=True, timeout=10.0) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(payload)
        if not read:
            return b""
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def test_malformed_http_leaves_server_healthy(server):
    reply = _raw(server, b"\x00\xff garbage \r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert _raw(server, os.urandom(4096)) [:12] in (b"", b"HTTP/1.1 400")
    # Truncated: the body is shorter than Content-Length, then the client closes.
    with socket.create_connection((server.host, server.port)) as s:
        s.sendall(b"POST /inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"data\": [")
    # Oversized headers.
    reply = _raw(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:200]
    # A bad chunked encoding.
    reply = _raw(server, b"POST /inference HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert server.get("/health").status_code == 200
    assert server.post("/inference", json=SEED_BODY).status_code == 200


def test_slowloris_is_cut_off_while_others_are_served(server):
    # One byte per second; the server's --read-timeout is 2 s.
    request = b"POST /inference HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    closed = threading.Event()
    sent = []

    def slow_client():
        with socket.create_connection((server.host, server.port)) as s:
            s.settimeout(1.5)
            for b in request:
                try:
                    s.sendall(bytes([b]))
                    sent.append(b)
                    if s.recv(1024) == b"":
                        break
                except socket.timeout:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            closed.set()

    clients = [threading.Thread(target=slow_client) for _ in range(8)]
    for t in clients:
        t.start()
    served = 0
    while not closed.is_set() and served < 2000:
        assert server.post("/inference", json=SEED_BODY).status_code == 200
        served += 1
    for t in clients:
        t.join(timeout=60)
    assert closed.is_set() and len(sent) < len(request) * 8, "slow clients were never cut off"
    assert served > 0
    assert server.get("/health").status_code == 200


# --- auth ----------------------------------------------------------------------------

def test_401_without_token_health_open(trained, tmp_path):
    # Its own spool: the module's server holds the default one.
    with Server(trained, extra_env={"MODELBAY_API_TOKEN": TOKEN}, spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        bare = requests.Session()
        assert bare.get(srv.url + "/health").status_code == 200
        for method, path in [("post", "/inference"), ("get", "/ready"), ("get", "/models"), ("get", "/metrics"),
                             ("get", "/openapi.json"), ("get", "/nope")]:
            r = getattr(bare, method)(srv.url + path, json=SEED_BODY)
            assert_error(r, 401, "Bearer")
            assert r.headers["WWW-Authenticate"] == "Bearer"
        wrong = bare.post(srv.url + "/inference", json=SEED_BODY, headers={"Authorization": "Bearer nope"})
        assert_error(wrong, 401)
        ok = srv.post("/inference", json=SEED_BODY)  # srv's session sends the token
        assert ok.status_code == 200 and ok.json()["message"] == "inference completed"
        assert "security" in srv.get("/openapi.json").json()


# --- schemathesis --------------------------------------------------------------------

def test_schemathesis_finds_no_server_error_or_schema_violation(server, tmp_path):
    st = Path(sys.executable).parent / "st"
    if not st.exists():
        pytest.skip("schemathesis not installed in the venv (tests/e2e/requirements.txt)")
    proc = subprocess.run(
        [str(st), "run", f"{server.url}/openapi.json", "--checks", "all", "--hypothesis-max-examples=30",
         "--hypothesis-seed=1", "--hypothesis-derandomize", "--workers", "2",
         "--exclude-checks", "ignored_auth", "--hypothesis-suppress-health-check=all", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert server.get("/health").status_code == 200
