#!/usr/bin/env bash
# Times `make demo` as a new user meets it: a fresh Debian bookworm container
# (the debootstrap-made `debian:bookworm` image, scripts/docker-up.sh), only
# `make` and `git` installed, a clone of this checkout's HEAD, then `make demo`.
# The README's figure comes from this script. Needs a Docker daemon and the
# Debian archive (host network).
#   scripts/time-fresh-demo.sh [OUT_DIR]     -> OUT_DIR/time.txt, OUT_DIR/demo.log
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-/tmp/modelbay-fresh-demo}" && cd "${1:-/tmp/modelbay-fresh-demo}" && pwd)
cat >"$OUT/inside.sh" <<'INSIDE'
#!/bin/bash
set -e
start=$(date +%s)
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make git ca-certificates >/dev/null
git clone -q /src /w && cd /w
t0=$(date +%s)
rc=0; make demo >/out/demo.log 2>&1 || rc=$?
t1=$(date +%s)
echo "rc=$rc prep=$((t0 - start))s make_demo=$((t1 - t0))s load=$(cut -d' ' -f1-3 /proc/loadavg)" >/out/time.txt
INSIDE
chmod +x "$OUT/inside.sh"
docker run --rm --network host -v "$ROOT:/src:ro" -v "$OUT:/out" debian:bookworm /out/inside.sh
cat "$OUT/time.txt"
