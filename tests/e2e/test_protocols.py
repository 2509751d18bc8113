"""The clients people already have (issue 10 §2, §3): tritonclient.http against
the Open Inference Protocol (v2) routes, with and without the binary tensor
extension; MLflow's /invocations payloads built with pandas; hostile v2
bodies. Every answer is compared with what /inference says for the same rows,
and the rows must reach the prediction log like /inference's.
"""
from __future__ import annotations

import csv
import json
import struct

import numpy as np
import pytest

from conftest import make_trained_stores
from serve_util import Server

tritonclient_http = pytest.importorskip("tritonclient.http")
pd = pytest.importorskip("pandas")

ROWS = [["aa", 2, 2], ["bb", 50, 7], ["ff", 99, 100], ["cc", 0, 3], ["dd", 61, 12]]
COLUMNS = ["Country", "Count", "id"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return make_trained_stores(tmp_path_factory.mktemp("protocols"))


@pytest.fixture(scope="module")
def server(trained):
    srv = Server(trained, ready_timeout=120, args=["--threads", "2", "--max-rows", "50"])
    srv.start()
    srv.wait_ready(60)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def expected(server):
    """What /inference answers for ROWS: labels as text, probabilities."""
    r = server.infer(ROWS)
    assert r.status_code == 200, r.text
    body = r.json()
    return [str(p) for p in body["predictions"]], np.array(body["probabilities"])


def triton(server):
    return tritonclient_http.InferenceServerClient(url=f"{server.host}:{server.port}", network_timeout=60)


def column_inputs(binary: bool, count_type: str = "FP32"):
    country = tritonclient_http.InferInput("Country", [len(ROWS)], "BYTES")
    country.set_data_from_numpy(np.array([r[0] for r in ROWS], dtype=np.object_), binary_data=binary)
    count = tritonclient_http.InferInput("Count", [len(ROWS)], count_type)
    count.set_data_from_numpy(np.array([r[1] for r in ROWS], dtype=np.float32 if count_type == "FP32"
                                       else np.float64), binary_data=binary)
    ident = tritonclient_http.InferInput("id", [len(ROWS), 1], "FP64")
    ident.set_data_from_numpy(np.array([[r[2]] for r in ROWS], dtype=np.float64), binary_data=binary)
    return [country, count, ident]


def labels(result) -> list[str]:
    return [x.decode() if isinstance(x, bytes) else str(x) for x in result.as_numpy("predict").reshape(-1)]


# --- Open Inference Protocol with tritonclient ---------------------------------------

def test_tritonclient_health_and_metadata(server):
    client = triton(server)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("default") and client.is_model_ready("default", "production")
    assert client.get_server_metadata()["name"] == "modelbay"
    meta = client.get_model_metadata("default")
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        ("Country", "BYTES", [-1]), ("Count", "FP64", [-1]), ("id", "FP64", [-1])]
    # contributions is sent only when asked for (test_explain.py).
    assert [o["name"] for o in meta["outputs"]] == ["predict", "probabilities", "contributions"]
    assert meta["outputs"][1]["shape"] == [-1, 2]
    assert meta["parameters"]["class_labels"] == ["0", "1"] and meta["versions"] == ["1"]
    assert client.get_model_metadata("default", "latest")["name"] == "default"
    stats = client.get_inference_statistics("default")
    assert stats["model_stats"][0]["name"] == "default"


def test_tritonclient_binary_default_matches_inference(server, expected):
    client = triton(server)
    result = client.infer("default", column_inputs(binary=True), request_id="req-7")
    want_labels, want_probs = expected
    assert labels(result) == want_labels
    probs = result.as_numpy("probabilities")
    assert probs.shape == (len(ROWS), 2) and probs.dtype == np.float32
    assert np.allclose(probs, want_probs, atol=1e-6)
    response = result.get_response()
    assert response["id"] == "req-7" and response["model_version"] == "1"
    # No outputs listed: tritonclient asks for binary_data_output, and got it.
    assert all("binary_data_size" in o.get("parameters", {}) for o in response["outputs"])


def test_tritonclient_fp64_outputs_selected_and_alias_version(server, expected):
    client = triton(server)
    wanted = [tritonclient_http.InferRequestedOutput("predict", binary_data=True)]
    for version in ("production", "latest", "1"):
        result = client.infer("default", column_inputs(binary=True, count_type="FP64"), model_version=version,
                              outputs=wanted)
        assert labels(result) == expected[0], version
        assert [o["name"] for o in result.get_response()["outputs"]] == ["predict"]
        assert result.as_numpy("probabilities") is None


def test_tritonclient_json_only(server, expected):
    client = triton(server)
    wanted = [tritonclient_http.InferRequestedOutput("probabilities", binary_data=False),
              tritonclient_http.InferRequestedOutput("predict", binary_data=False)]
    result = client.infer("default", column_inputs(binary=False), outputs=wanted)
    response = result.get_response()
    assert [o["name"] for o in response["outputs"]] == ["probabilities", "predict"]
    assert all("data" in o for o in response["outputs"])
    assert labels(result) == expected[0]
    assert np.allclose(result.as_numpy("probabilities"), expected[1], atol=1e-6)


def test_one_2d_bytes_tensor_nested_or_flat(server, expected):
    nested = [[str(v) for v in row] for row in ROWS]
    for data in (nested, [v for row in nested for v in row]):
        body = {"id": "m", "inputs": [{"name": "rows", "shape": [len(ROWS), 3], "datatype": "BYTES", "data": data}]}
        r = server.post("/v2/models/default/infer", json=body)
        assert r.status_code == 200, r.text
        out = {o["name"]: o for o in r.json()["outputs"]}
        assert out["predict"]["data"] == expected[0] and r.json()["id"] == "m"
        assert np.allclose(np.array(out["probabilities"]["data"]).reshape(-1, 2), expected[1], atol=1e-6)


def _binary_body(json_header: dict, binary: bytes, header_length: int | None = None):
    head = json.dumps(json_header).encode()
    length = len(head) if header_length is None else header_length
    return head + binary, {"Inference-Header-Content-Length": str(length),
                           "Content-Type": "application/octet-stream"}


def test_hostile_v2_bodies_get_400_and_the_server_stays_healthy(server, expected):
    two = struct.pack("<I", 2) + b"aa" + struct.pack("<I", 2) + b"bb"
    country = {"name": "Country", "shape": [2], "datatype": "BYTES"}
    cases = [
        # The header length beyond the body.
        (*_binary_body({"inputs": [dict(country, parameters={"binary_data_size": 12})]}, two, 10_000), "body has only"),
        # binary_data_size larger than what follows.
        (*_binary_body({"inputs": [dict(country, parameters={"binary_data_size": 40})]}, two), "bytes of binary data"),
        # binary_data_size smaller than what follows.
        (*_binary_body({"inputs": [dict(country, parameters={"binary_data_size": 6})]}, two), "add up to 6"),
        # A BYTES length prefix running past the tensor.
        (*_binary_body({"inputs": [dict(country, parameters={"binary_data_size": 8})]},
                       struct.pack("<I", 0x7FFFFFFF) + b"aaaa"), "element 0"),
        # FP32 data of the wrong size.
        (*_binary_body({"inputs": [{"name": "Count", "shape": [2], "datatype": "FP32",
                                    "parameters": {"binary_data_size": 6}}]}, b"\0" * 6), "FP32 take 8"),
        # Shapes that disagree with the data or the model.
        (json.dumps({"inputs": [{"name": "Count", "shape": [3], "datatype": "FP64", "data": [1, 2]}]}).encode(),
         {"Content-Type": "application/json"}, "shape declares 3"),
        (json.dumps({"inputs": [{"name": "m", "shape": [1, 2], "datatype": "BYTES", "data": ["aa", "1"]}]}).encode(),
         {"Content-Type": "application/json"}, "takes 3"),
        (json.dumps({"inputs": [{"name": "Count", "shape": [99999999999], "datatype": "FP64",
                                 "parameters": {"binary_data_size": 0}}]}).encode(),
         {"Content-Type": "application/json"}, None),
        (b'{"inputs": [', {"Content-Type": "application/json"}, "not valid JSON"),
        (b"\xff" * 64, {"Inference-Header-Content-Length": "abc"}, "not a byte count"),
    ]
    for body, headers, words in cases:
        r = server.post("/v2/models/default/infer", data=body, headers=headers)
        assert r.status_code in (400, 413), (words, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json")
        message = r.json()["error"]
        assert set(r.json()) == {"error"}
        if words:
            assert words in message, (words, message)
    assert server.get("/v2/health/live").status_code == 200
    result = triton(server).infer("default", column_inputs(binary=True))
    assert labels(result) == expected[0]


def test_unknown_model_version_and_method(server):
    r = server.get("/v2/models/churn")
    assert r.status_code == 404 and "no model named 'churn'" in r.json()["error"], r.text
    r = server.post("/v2/models/default/versions/staging/infer",
                    json={"inputs": [{"name": "Count", "shape": [1], "datatype": "FP64", "data": [1]}]})
    assert r.status_code == 404 and "staging" in r.json()["error"], r.text
    r = server.get("/v2/models/default/infer")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert server.get("/v2/models/default/nope").status_code == 404


# --- MLflow's scoring contract ------------------------------------------------------

def test_mlflow_payloads_and_csv_match_inference(server, expected):
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    want = [json.loads(p) for p in expected[0]]  # /inference's numbers
    payloads = [
        {"dataframe_split": json.loads(frame.to_json(orient="split"))},
        {"dataframe_records": json.loads(frame.to_json(orient="records"))},
        {"instances": ROWS},
        {"inputs": {c: frame[c].tolist() for c in COLUMNS}},
    ]
    for payload in payloads:
        r = server.post("/invocations", json=payload)
        assert r.status_code == 200, (list(payload), r.text)
        assert r.json() == {"predictions": want}, list(payload)
    r = server.post("/invocations", data=frame.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": want}
    # Columns in another order, and with the label column, still line up by name.
    shuffled = frame[["id", "Country", "Count"]].assign(churn=0)
    r = server.post("/invocations", data=shuffled.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert r.json() == {"predictions": want}, r.text


def test_mlflow_errors(server):
    r = server.post("/invocations", json={"dataframe_split": {"columns": ["Country", "Nope"], "data": [["aa", 1]]}})
    assert r.status_code == 400 and "unknown column \"Nope\"" in r.json()["message"]
    r = server.post("/invocations", json={"rows": []})
    assert r.status_code == 400 and "dataframe_split" in r.json()["message"]
    r = server.post("/invocations", data="a,b\n1,2\n", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert server.get("/ping").status_code == 200


def test_every_route_logs_its_rows(trained, tmp_path):
    """Rows answered by v2 (binary and JSON) and /invocations reach the
    prediction log, as /inference's do: the export holds them by request id."""
    with Server(trained, spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        client = triton(srv)
        client.infer("default", column_inputs(binary=True), headers={"X-Request-Id": "v2-binary"})
        client.infer("default", column_inputs(binary=False), headers={"X-Request-Id": "v2-json"},
                     outputs=[tritonclient_http.InferRequestedOutput("predict", binary_data=False)])
        r = srv.post("/invocations", json={"instances": ROWS[:2]}, headers={"X-Request-Id": "mlflow"})
        assert r.status_code == 200 and r.headers["X-Request-Id"] == "mlflow"
    out = tmp_path / "results_1.csv"
    trained.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    counts = {rid: sum(1 for r in rows if r["request_id"] == rid) for rid in ("v2-binary", "v2-json", "mlflow")}
    assert counts == {"v2-binary": len(ROWS), "v2-json": len(ROWS), "mlflow": 2}
    binary_rows = [r for r in rows if r["request_id"] == "v2-binary"]
    assert sorted(r["Country"] for r in binary_rows) == sorted(r[0] for r in ROWS)
