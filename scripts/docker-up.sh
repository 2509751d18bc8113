#!/usr/bin/env bash
# Makes sure a Docker daemon answers, for the image tests (tests/e2e/test_dockerfile.py)
# and `make test`: when `docker info` fails and we are root with Debian's
# docker.io installed, starts `dockerd` in the background (log:
# $DOCKERD_LOG, default /tmp/modelbay-dockerd.log) and waits for it; then makes
# the Dockerfile's base images offline (scripts/docker-base-images.sh).
# Exit 0: daemon up and bases present. Exit 1 with the reason on stderr: no
# daemon can start here (the image tests then skip with that reason).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v docker >/dev/null || { echo "docker-up: no docker client (Debian package docker.io)" >&2; exit 1; }
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "docker-up: no dockerd (Debian package docker.io)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "docker-up: the Docker daemon is not running and only root can start it" >&2; exit 1; }
  log=${DOCKERD_LOG:-/tmp/modelbay-dockerd.log}
  echo "==> starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    kill -0 $! 2>/dev/null || { echo "docker-up: dockerd exited: $(tail -3 "$log")" >&2; exit 1; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "docker-up: dockerd did not answer within 60 s: $(tail -3 "$log")" >&2; exit 1; }
fi
./scripts/docker-base-images.sh
