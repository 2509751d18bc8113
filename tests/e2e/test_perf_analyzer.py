"""perf_analyzer (issue 10, tests): a short measurement against
/v2/models/default/infer with --input-data JSON must report no errors.

perf_analyzer is a C++ program. The PyPI package `perf-analyzer` that
tritonclient depends on is, on the registry this project installs from, only
release 0.1.0: a placeholder module with no binary (there is no Debian
package either). So this test skips here, saying so; it runs wherever a
perf_analyzer binary is on PATH or in the venv.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_trained_stores
from serve_util import Server


def perf_analyzer_binary() -> str | None:
    venv = Path(sys.prefix) / "bin" / "perf_analyzer"
    return str(venv) if venv.exists() else shutil.which("perf_analyzer")


def test_perf_analyzer_short_measurement(tmp_path):
    exe = perf_analyzer_binary()
    if exe is None:
        pytest.skip("no perf_analyzer binary: PyPI's perf-analyzer here is 0.1.0, a placeholder "
                    "package without the program, and Debian has none")
    stores = make_trained_stores(tmp_path)
    data = {"data": [{"Country": ["aa", "bb"], "Count": [2.0, 50.0], "id": [2.0, 7.0]}]}
    (tmp_path / "input.json").write_text(json.dumps(data))
    with Server(stores, args=["--threads", "2"]) as srv:
        srv.wait_ready()
        proc = subprocess.run([exe, "-m", "default", "-u", f"{srv.host}:{srv.port}", "-i", "http",
                               "--input-data", str(tmp_path / "input.json"),
                               "--shape", "Country:2", "--shape", "Count:2", "--shape", "id:2",
                               "--concurrency-range", "1:2", "--measurement-interval", "1000",
                               "--stability-percentage", "100", "--max-trials", "3"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "error" not in proc.stdout.lower(), proc.stdout[-3000:]
        assert "Throughput" in proc.stdout
