# benchmarks/serve/lib.sh: helpers shared by the serve benchmarks (sourced).
#   free_port            an unused loopback TCP port
#   wait_http URL        until URL answers 2xx (2 minutes at most)
#   cpu_ticks PID        the process's utime+stime so far, in clock ticks (TICK per second)
#   bench_model BIN DIR  in DIR: sample data (20k rows, seed 7), uploaded, version 1 trained,
#                        and the request bodies (plain_one.json, plain_hundred.json, v2_*.json)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not up: $1" >&2; return 1; }
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bench_model() {
  (cd "$2" && "$1" sample-data --rows 20000 --seed 7 --out churn.csv >/dev/null && "$1" upload churn.csv >/dev/null &&
     "$1" train --quiet >/dev/null &&
     python3 "$(dirname "${BASH_SOURCE[0]}")/v2_bodies.py" .modelbay/models/1/preprocessor.json "$2" >/dev/null)
}
