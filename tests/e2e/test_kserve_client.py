"""KServe's Python SDK (issue 10, tests): its v2 REST client
(kserve.InferenceRESTClient with RESTConfig(protocol="v2")) checks liveness,
readiness and model readiness, and infers with binary (the SDK's default for
numpy inputs) and JSON tensors; the answers must equal /inference's.

kserve lives in its own venv (.venv/kserve, tests/e2e/requirements-kserve.txt):
kserve 0.21 needs starlette>=1.3.1 and the suite's schemathesis needs
starlette<1. The client runs there as a subprocess and prints what it got.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_trained_stores
from serve_util import Server

KSERVE_PYTHON = Path(sys.prefix) / "kserve" / "bin" / "python"
ROWS = [["aa", 2, 2], ["bb", 50, 7], ["ff", 99, 100], ["cc", 0, 3]]

CLIENT = r"""
import asyncio, json, sys
import numpy as np
from kserve import InferenceRESTClient, RESTConfig, InferRequest, InferInput
from kserve.protocol.infer_type import RequestedOutput

base, rows = sys.argv[1], json.loads(sys.argv[2])

async def main():
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
    out = {"live": await client.is_server_live(base),
           "ready": await client.is_server_ready(base),
           "model_ready": await client.is_model_ready(base, "default")}
    for binary in (True, False):
        country = InferInput("Country", [len(rows)], "BYTES")
        country.set_data_from_numpy(np.array([r[0] for r in rows], dtype=np.object_), binary_data=binary)
        count = InferInput("Count", [len(rows)], "FP64")
        count.set_data_from_numpy(np.array([r[1] for r in rows], dtype=np.float64), binary_data=binary)
        ident = InferInput("id", [len(rows)], "INT64")
        ident.set_data_from_numpy(np.array([r[2] for r in rows], dtype=np.int64), binary_data=binary)
        req = InferRequest(model_name="default", infer_inputs=[country, count, ident], request_id="kserve-1",
                           request_outputs=[RequestedOutput("predict"), RequestedOutput("probabilities")])
        res = await client.infer(base, req, model_name="default")
        got = {o.name: o.as_numpy().tolist() for o in res.outputs}
        got["predict"] = [x.decode() if isinstance(x, bytes) else str(x) for x in got["predict"]]
        got["id"] = res.id
        out["binary" if binary else "json"] = got
    await client.close()
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not KSERVE_PYTHON.exists():
        pytest.skip(f"{KSERVE_PYTHON} is missing: scripts/install-deps.sh installs kserve there "
                    "(tests/e2e/requirements-kserve.txt)")
    stores = make_trained_stores(tmp_path_factory.mktemp("kserve"))
    with Server(stores, args=["--threads", "2"]) as srv:
        srv.wait_ready()
        yield srv


def test_kserve_v2_rest_client_infers(server):
    expected = server.infer(ROWS).json()
    proc = subprocess.run([str(KSERVE_PYTHON), "-c", CLIENT, server.url, json.dumps(ROWS)],
                          capture_output=True, text=True, timeout=300, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["live"] and got["ready"] and got["model_ready"], got
    for mode in ("binary", "json"):
        assert got[mode]["predict"] == [str(p) for p in expected["predictions"]], mode
        np.testing.assert_allclose(got[mode]["probabilities"], expected["probabilities"], atol=1e-6, err_msg=mode)
        assert got[mode]["id"] == "kserve-1"
