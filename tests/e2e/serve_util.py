"""Starting `modelbay serve` in tests: a free port, wait for /health, stop with
SIGTERM and check the exit was clean.

    with Server(stores, extra_env={...}, args=["--threads", "2"]) as srv:
        r = srv.post("/inference", json={"data": [["aa", 2, 2]]})

Server.stop() asserts exit code 0 (graceful shutdown ships the log);
Server.kill() sends SIGKILL (crash tests) and asserts nothing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from servers import free_port, wait_until


class Server:
    def __init__(self, stores, args=(), extra_env=None, binary: str | Path | None = None,
                 spool: Path | None = None, host: str = "127.0.0.1", port: int | None = None,
                 ready_timeout: float = 60.0):
        self.stores = stores
        self.args = list(map(str, args))
        self.extra_env = dict(extra_env or {})
        self.binary = binary  # e.g. an ASan build; default: the suite's modelbay
        self.spool = Path(spool) if spool else Path(stores.cwd) / "spool"
        self.host = host
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.log = Path(stores.cwd) / f"serve-{self.port}.log"
        self.session = requests.Session()
        token = self.extra_env.get("MODELBAY_API_TOKEN")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        from conftest import modelbay_binary
        exe = str(self.binary) if self.binary else str(modelbay_binary())
        return [exe, "serve", "--host", self.host, "--port", str(self.port),
                "--spool", str(self.spool), *self.args]

    def start(self) -> "Server":
        env = {**self.stores.env, **self.extra_env}
        self.proc = subprocess.Popen(self.command(), cwd=self.stores.cwd, env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: requests.get(self.url + "/health", timeout=2).status_code == 200,
                   self.ready_timeout, "modelbay serve", self.proc, self.log)
        return self

    def wait_ready(self, timeout: float = 30.0):
        wait_until(lambda: self.get("/ready").status_code == 200, timeout, "/ready",
                   self.proc, self.log)

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.get(self.url + path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.post(self.url + path, **kw)

    def infer(self, rows, version=None, **kw) -> requests.Response:
        body = {"data": rows}
        if version is not None:
            body["model_version"] = version
        return self.post("/inference", json=body, **kw)

    def metrics(self) -> dict[str, float]:
        """The /metrics samples as {"name{labels}": value}."""
        out = {}
        for line in self.get("/metrics").text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait, and assert a clean exit (0)."""
        if self.proc is None or self.proc.poll() is not None:
            rc = None if self.proc is None else self.proc.returncode
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"serve did not stop within {timeout}s of SIGTERM\n"
                                     f"{self.log_text()[-3000:]}")
        self.session.close()
        assert rc == 0, f"serve exited {rc}\n{self.log_text()[-3000:]}"
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.session.close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        elif self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False


def wait_for(predicate, timeout: float = 20.0, what: str = "condition", interval: float = 0.2):
    """Polls `predicate` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not true after {timeout}s (last: {last!r})")
