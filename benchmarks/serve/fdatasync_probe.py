#!/usr/bin/env python3
"""How many fdatasync calls per second this machine's disk completes, each
after a small write (what one group commit of the prediction log does), in
two ways: appending to a file, and writing in place into space preallocated
with fallocate, as `--fsync always` writes its segments (the fdatasync then
has no file size change to make durable, only the data). The second bounds
`--fsync always`: at most that many group commits per second.

    benchmarks/serve/fdatasync_probe.py [DIR] [SECONDS]   (default: a temp dir, 3 s each)
"""
import os
import sys
import tempfile
import time

folder = sys.argv[1] if len(sys.argv) > 1 else None
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
record = b"x" * 120  # about one logged row


def probe(d, preallocated):
    path = os.path.join(d, "probe-prealloc" if preallocated else "probe-append")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (0 if preallocated else os.O_APPEND), 0o644)
    if preallocated:
        os.posix_fallocate(fd, 0, 64 << 20)
        os.fsync(fd)
    n, offset = 0, 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if preallocated:
            os.pwrite(fd, record, offset)
            offset += len(record)
        else:
            os.write(fd, record)
        os.fdatasync(fd)
        n += 1
    elapsed = time.monotonic() - start
    os.close(fd)
    return n / elapsed


with tempfile.TemporaryDirectory(dir=folder) as d:
    append = probe(d, False)
    in_place = probe(d, True)
print(f"fdatasync: {in_place:.0f}/s writing in place into preallocated space ({1e6 / in_place:.0f} us each), "
      f"{append:.0f}/s appending ({1e6 / append:.0f} us each), on {folder or tempfile.gettempdir()}")
