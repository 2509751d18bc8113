"""A fault injector for one HTTP request: a loopback TCP proxy that forwards
everything, except that for the first `count` requests whose request line
matches a pattern it lets the server apply the request and answer, then
closes the client's connection without passing the answer on. The client
sees "empty reply" for a request the server did apply: exactly a lost
answer on a lossy network.

Why not Toxiproxy here: its toxics act on all bytes of a connection in one
direction, with no notion of an HTTP request, so "drop the answer to the PUT
of <N>/.committed and nothing else" cannot be said to it; timing a toxic
around one request of a running `train` would be a race. This proxy reads
request lines, so it faults exactly the request named.

It relies on HTTP/1.1 clients that do not pipeline (curl does not): client
bytes that arrive after the server's last answer start a new request.
"""
from __future__ import annotations

import re
import select
import socket
import threading

from servers import free_port


class AnswerDroppingProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._rules: list[list] = []  # [compiled pattern, remaining, replacement answer or None]
        self.dropped: list[str] = []   # request lines whose answers were dropped
        self.seen: list[str] = []      # every request line
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def drop_answers(self, pattern: str, count: int = 1):
        """Drop the answers to the next `count` requests whose request line
        ("PUT /bucket/1/.committed HTTP/1.1") matches `pattern`."""
        with self._lock:
            self._rules.append([re.compile(pattern), count, None])

    def replace_answers(self, pattern: str, answer: bytes, count: int = 1):
        """Like drop_answers, but the client gets `answer` (a whole HTTP
        response; the connection is closed after it) instead of nothing."""
        with self._lock:
            self._rules.append([re.compile(pattern), count, answer])

    def start(self) -> "AnswerDroppingProxy":
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _should_drop(self, request_line: str):
        """False, or what to answer instead: True (nothing) or the bytes."""
        with self._lock:
            self.seen.append(request_line)
            for rule in self._rules:
                if rule[1] > 0 and rule[0].search(request_line):
                    rule[1] -= 1
                    self.dropped.append(request_line)
                    return rule[2] if rule[2] is not None else True
        return False

    def _serve(self, client: socket.socket):
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        new_request, head, drop = True, b"", False
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        if new_request:
                            head += data
                            if b"\r\n" in head:
                                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                                drop = self._should_drop(line)
                                new_request, head = False, b""
                        upstream.sendall(data)
                    else:
                        if drop:
                            # The server answered (so it applied the request): lose the answer,
                            # or hand the client another one.
                            if drop is not True:
                                client.sendall(drop)
                            return
                        client.sendall(data)
                        new_request = True
        except OSError:
            return
        finally:
            client.close()
            upstream.close()
