#!/usr/bin/env bash
# Installs everything modelbay needs to build and test on Debian bookworm:
# the -dev packages (apt) and the Python venv for the end-to-end suite (.venv).
# Idempotent: a second run only checks. Set MODELBAY_SKIP_APT=1 to skip apt.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config git zip unzip curl ca-certificates
  libxgboost-dev libboost-dev libboost-system-dev libsimdjson-dev
  rapidjson-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
  libpugixml-dev libsqlite3-dev libzip-dev libcli11-dev libspdlog-dev
  libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  wrk hyperfine prometheus python3-venv shellcheck ccache
)

need_apt=0
if [ "${MODELBAY_SKIP_APT:-0}" != 1 ]; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { need_apt=1; break; }
  done
fi
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "==> installing Debian packages (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv for the end-to-end suite"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/e2e/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing tests/e2e/requirements.txt into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r tests/e2e/requirements.txt
  echo "$want" > "$stamp"
fi

# actionlint (the workflow checker) has no binary wheel on PyPI: build the
# pinned release from the Go module proxy into the venv (needs Go >= 1.25).
ACTIONLINT_VERSION=v1.7.12
if ! .venv/bin/actionlint -version 2>/dev/null | grep -qx "$ACTIONLINT_VERSION"; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || { echo "install-deps: Go >= 1.25 is needed to build actionlint (https://go.dev/dl)" >&2; exit 1; }
  echo "==> building actionlint $ACTIONLINT_VERSION into .venv/bin"
  GOBIN="$PWD/.venv/bin" "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
