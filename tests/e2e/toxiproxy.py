"""Toxiproxy (github.com/Shopify/toxiproxy, built into .venv/bin by
scripts/install-deps.sh) as a fault injector between modelbay and a real
server. Generic: any test can start one server, put a proxy in front of any
loopback endpoint and add or remove toxics through its HTTP API.

    with Toxiproxy(tmp_path) as tp:
        proxy = tp.proxy("s3", seaweed.endpoint)      # -> http://127.0.0.1:PORT
        tp.add_toxic("s3", "drop", "timeout", stream="downstream", timeout=1000)
        ...
        tp.remove_toxic("s3", "drop")

Toxics act on a whole connection's bytes in one direction, not on one HTTP
request: to fault exactly one request, see drop_proxy.AnswerDroppingProxy.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse

import requests

from servers import _stop, free_port, venv_binary, wait_until


class Toxiproxy:
    """One toxiproxy-server on 127.0.0.1, its API at `api`."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.api = ""

    def start(self, timeout: float = 30.0) -> "Toxiproxy":
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.api = f"http://127.0.0.1:{port}"
        self.log = self.workdir / "toxiproxy.log"
        self.proc = subprocess.Popen([venv_binary("toxiproxy-server", "it builds it into .venv/bin"), "-host", "127.0.0.1", "-port", str(port)],
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: requests.get(self.api + "/version", timeout=2).ok, timeout, "toxiproxy",
                   self.proc, self.log)
        return self

    def stop(self):
        if self.proc:
            _stop(self.proc)

    def __enter__(self) -> "Toxiproxy":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _call(self, method: str, path: str, **kw):
        r = requests.request(method, self.api + path, timeout=10, **kw)
        if not r.ok:
            raise RuntimeError(f"toxiproxy {method} {path}: HTTP {r.status_code} {r.text}")
        return r.json() if r.content else None

    def proxy(self, name: str, upstream_url: str) -> str:
        """A proxy on a free loopback port in front of `upstream_url`
        (scheme://host:port); returns the same URL through the proxy."""
        up = urlparse(upstream_url)
        port = free_port()
        self._call("POST", "/proxies", json={"name": name, "listen": f"127.0.0.1:{port}",
                                             "upstream": f"{up.hostname}:{up.port}", "enabled": True})
        return f"{up.scheme}://127.0.0.1:{port}"

    def add_toxic(self, proxy: str, name: str, kind: str, stream: str = "downstream", toxicity: float = 1.0,
                  **attributes):
        """kind: latency, timeout, reset_peer, limit_data, slicer, ...;
        stream: downstream (server -> client) or upstream (client -> server)."""
        self._call("POST", f"/proxies/{proxy}/toxics", json={
            "name": name, "type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes})

    def remove_toxic(self, proxy: str, name: str):
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def set_enabled(self, proxy: str, enabled: bool):
        """Disabled: the proxy refuses connections (a server that is down)."""
        self._call("POST", f"/proxies/{proxy}", json={"enabled": enabled})
