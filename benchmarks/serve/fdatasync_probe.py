#!/usr/bin/env python3
"""How many durable small writes per second this machine's disk completes
(what one group commit of the prediction log does), four ways:

  append     write(2) at the end of the file, then fdatasync
  fallocate  pwrite in place into space preallocated with fallocate, then
             fdatasync (the space is "unwritten": each write also converts it)
  zeros      pwrite in place over written zeros, then fdatasync
  direct     over written zeros with O_DIRECT | O_DSYNC: each pwrite is
             durable by itself (the last partial 4 KiB block is rewritten,
             zero-padded)

`--fsync always` does the last (a spare file of zeros becomes each segment;
src/results/group_commit.h), falling back to `fallocate` past a spare's end
and to `zeros` where O_DIRECT is refused. That rate bounds group commit: at
most that many commits per second. Each way is timed with a record of about
one logged row (120 bytes) and, with BIG=1, of a 100-row request (12 KB).
The direct way's write times are reported too (p50, p99, max): a durable
write that stalls holds every request of its group commit, so the disk's
own tail is the floor of `--fsync always`'s p99.

    benchmarks/serve/fdatasync_probe.py [DIR] [SECONDS]   (default: a temp dir, 3 s each)
    WAYS=direct benchmarks/serve/fdatasync_probe.py DIR 1  (only the ways named, comma-separated)
"""
import mmap
import os
import sys
import tempfile
import time

folder = sys.argv[1] if len(sys.argv) > 1 else None
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
sizes = [120, 12000] if os.environ.get("BIG") == "1" else [120]
SPACE = 64 << 20
BLOCK = 4096


def zero_file(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    chunk = bytes(1 << 20)
    for _ in range(SPACE >> 20):
        os.write(fd, chunk)
    os.fsync(fd)
    os.close(fd)


def probe(d, way, size):
    path = os.path.join(d, f"probe-{way}")
    if way == "zeros" or way == "direct":
        zero_file(path)
    flags = {"append": os.O_APPEND | os.O_CREAT, "direct": os.O_DIRECT | os.O_DSYNC}.get(way, os.O_CREAT)
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    if way == "fallocate":
        os.posix_fallocate(fd, 0, SPACE)
        os.fsync(fd)
    record = b"x" * size
    buf = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT needs
    n, offset, took = 0, 0, []
    start = time.monotonic()
    while time.monotonic() - start < seconds and offset + size + BLOCK < SPACE:
        began = time.monotonic()
        if way == "append":
            os.write(fd, record)
        elif way == "direct":
            first = offset // BLOCK * BLOCK
            used = offset + size - first
            buf[used - size:used] = record
            os.pwrite(fd, memoryview(buf)[: (used + BLOCK - 1) // BLOCK * BLOCK], first)
        else:
            os.pwrite(fd, record, offset)
        if way != "direct":
            os.fdatasync(fd)
        took.append(time.monotonic() - began)
        offset += size
        n += 1
    elapsed = time.monotonic() - start
    os.close(fd)
    os.unlink(path)
    return n / elapsed, sorted(took)


def tail(took):
    """p50, p99 and max of one way's write times, in microseconds."""
    at = lambda q: took[min(len(took) - 1, int(q * len(took)))] * 1e6
    return f"p50 {at(0.5):.0f} us, p99 {at(0.99):.0f} us, max {took[-1] * 1e6:.0f} us"


ways = os.environ.get("WAYS", "append,fallocate,zeros,direct").split(",")
with tempfile.TemporaryDirectory(dir=folder) as d:
    parts = []
    for size in sizes:
        runs = {way: probe(d, way, size) for way in ways}
        rates = {way: rate for way, (rate, _) in runs.items()}
        part = f"{size} B records: " + ", ".join(f"{w} {rates[w]:.0f}/s" for w in ways)
        if "direct" in runs:
            part += (f" ({1e6 / rates['direct']:.0f} us each the way --fsync always writes;"
                     f" {tail(runs['direct'][1])})")
        parts.append(part)
print(f"durable writes on {folder or tempfile.gettempdir()}: " + "; ".join(parts))
