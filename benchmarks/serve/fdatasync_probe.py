#!/usr/bin/env python3
"""How many fdatasync calls per second this machine's disk completes, each
after a small append (what one group commit of the prediction log does).
It bounds `--fsync always`: at most this many group commits per second.

    benchmarks/serve/fdatasync_probe.py [DIR] [SECONDS]   (default: a temp dir, 3 s)
"""
import os
import sys
import tempfile
import time

folder = sys.argv[1] if len(sys.argv) > 1 else None
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
with tempfile.TemporaryDirectory(dir=folder) as d:
    path = os.path.join(d, "probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    record = b"x" * 120  # about one logged row
    n = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        os.write(fd, record)
        os.fdatasync(fd)
        n += 1
    elapsed = time.monotonic() - start
    os.close(fd)
print(f"fdatasync: {n / elapsed:.0f}/s ({n} appends+fdatasync in {elapsed:.1f} s, "
      f"{1e6 * elapsed / n:.0f} us each) on {folder or tempfile.gettempdir()}")
