"""Toxiproxy (github.com/Shopify/toxiproxy, built into .venv/bin by
scripts/install-deps.sh) between modelbay and a server, for fault injection.

    with Toxiproxy(tmp_path).start() as tp:
        proxy = tp.proxy("s3", "127.0.0.1:8333")          # listens on a free loopback port
        env["AWS_ENDPOINT_URL"] = proxy.endpoint
        with proxy.toxic("latency", latency=500):          # every byte 0.5 s later
            ...
        proxy.add("reset_peer", timeout=100)               # stays until removed / clear()

Toxic types and attributes (toxiproxy's README): latency {latency, jitter} ms;
bandwidth {rate} KB/s; timeout {timeout} ms (no data, then close; 0 = hold);
reset_peer {timeout} ms (TCP RST); limit_data {bytes} (close after n bytes:
a dropped answer when downstream); slow_close {delay}; slicer.
"stream" is "downstream" (server -> client, the default) or "upstream".
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import requests

from servers import _stop, free_port, wait_until


def toxiproxy_binary() -> str | None:
    cand = Path(sys.executable).parent / "toxiproxy-server"
    if cand.exists():
        return str(cand)
    return shutil.which("toxiproxy-server")


class Proxy:
    def __init__(self, api: str, name: str, listen: str, upstream: str):
        self.api, self.name, self.listen, self.upstream = api, name, listen, upstream

    @property
    def endpoint(self) -> str:
        return f"http://{self.listen}"

    def add(self, type: str, stream: str = "downstream", toxicity: float = 1.0, **attributes) -> str:
        """Adds a toxic; returns its name (for remove())."""
        name = f"{type}-{stream}-{uuid.uuid4().hex[:6]}"
        r = requests.post(f"{self.api}/proxies/{self.name}/toxics", timeout=10, json={
            "name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes})
        r.raise_for_status()
        return name

    def remove(self, toxic: str):
        requests.delete(f"{self.api}/proxies/{self.name}/toxics/{toxic}", timeout=10).raise_for_status()

    def clear(self):
        """Removes every toxic: the proxy passes traffic unchanged again."""
        for t in requests.get(f"{self.api}/proxies/{self.name}/toxics", timeout=10).json():
            self.remove(t["name"])

    def set_enabled(self, enabled: bool):
        """Disabled: connections are refused and open ones are closed."""
        requests.post(f"{self.api}/proxies/{self.name}", json={"enabled": enabled}, timeout=10).raise_for_status()

    @contextlib.contextmanager
    def toxic(self, type: str, stream: str = "downstream", toxicity: float = 1.0, **attributes):
        name = self.add(type, stream, toxicity, **attributes)
        try:
            yield name
        finally:
            self.remove(name)


class Toxiproxy:
    """toxiproxy-server on a loopback port; its proxies listen on loopback too."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.api = ""

    def start(self, timeout: float = 30.0) -> "Toxiproxy":
        exe = toxiproxy_binary()
        if exe is None:
            raise RuntimeError("toxiproxy-server not found: run scripts/install-deps.sh")
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.api = f"http://127.0.0.1:{port}"
        self.log = self.workdir / "toxiproxy.log"
        self.proc = subprocess.Popen([exe, "-host", "127.0.0.1", "-port", str(port)],
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: requests.get(self.api + "/version", timeout=2).ok, timeout, "toxiproxy",
                   self.proc, self.log)
        return self

    def proxy(self, name: str, upstream: str) -> Proxy:
        """A new proxy to `upstream` ("127.0.0.1:PORT") on a free loopback port."""
        listen = f"127.0.0.1:{free_port()}"
        r = requests.post(f"{self.api}/proxies", timeout=10,
                          json={"name": name, "listen": listen, "upstream": upstream, "enabled": True})
        r.raise_for_status()
        return Proxy(self.api, name, r.json()["listen"], upstream)

    def stop(self):
        if self.proc:
            _stop(self.proc)

    def __enter__(self) -> "Toxiproxy":
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
