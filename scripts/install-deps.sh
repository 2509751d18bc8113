#!/usr/bin/env bash
# Installs everything modelbay needs to build and test on Debian bookworm:
# the -dev packages (apt) and the Python venv for the end-to-end suite (.venv).
# Idempotent: a second run only checks. Set MODELBAY_SKIP_APT=1 to skip apt.
#   --build-only   only what building modelbay (and `make demo`) needs: the
#                  compiler and -dev packages; no test tools, no venv, no Go tools.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_ONLY=0
[ "${1:-}" = --build-only ] && BUILD_ONLY=1

BUILD_PACKAGES=(
  build-essential cmake pkg-config git zip unzip curl ca-certificates ccache python3
  libxgboost-dev libboost-dev libboost-system-dev libsimdjson-dev
  rapidjson-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
  libpugixml-dev libsqlite3-dev libzip-dev libcli11-dev libspdlog-dev
  libfmt-dev libgtest-dev libgmock-dev libxxhash-dev
)
# python3-xgboost: XGBoost's rabit tracker (xgboost/tracker.py) for train --workers / --distributed.
# chromium, chromium-driver: the headless browser of tests/e2e/test_ui.py (the /ui dashboard).
APT_PACKAGES=(
  "${BUILD_PACKAGES[@]}" libbenchmark-dev
  wrk hyperfine prometheus python3-venv shellcheck ccache python3-xgboost
  docker.io debootstrap
  clang libclang-rt-14-dev
  zsh groff-base  # the completion and man-page tests (tests/e2e/test_install.py)
  chromium chromium-driver
)

[ "$BUILD_ONLY" = 1 ] && APT_PACKAGES=("${BUILD_PACKAGES[@]}")
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

[ "$BUILD_ONLY" = 1 ] && exit 0

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv for the end-to-end suite"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat tests/e2e/requirements.txt tests/e2e/requirements-checkov.txt tests/e2e/requirements-kserve.txt \
  | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing tests/e2e/requirements.txt into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r tests/e2e/requirements.txt
  # checkov pins urllib3 1.26 and tritonclient needs urllib3 2: checkov gets
  # a venv of its own inside .venv, reachable as .venv/bin/checkov.
  echo "==> installing tests/e2e/requirements-checkov.txt into .venv/checkov"
  [ -x .venv/checkov/bin/python ] || "$PY" -m venv .venv/checkov
  .venv/checkov/bin/pip install -q --upgrade pip
  .venv/checkov/bin/pip install -q -r tests/e2e/requirements-checkov.txt
  ln -sfn ../checkov/bin/checkov .venv/bin/checkov
  # kserve needs starlette>=1.3.1 and schemathesis starlette<1: KServe's SDK
  # gets a venv of its own too (tests/e2e/test_kserve_client.py runs it there).
  echo "==> installing tests/e2e/requirements-kserve.txt into .venv/kserve"
  [ -x .venv/kserve/bin/python ] || "$PY" -m venv .venv/kserve
  .venv/kserve/bin/pip install -q --upgrade pip
  .venv/kserve/bin/pip install -q -r tests/e2e/requirements-kserve.txt
  echo "$want" > "$stamp"
fi

# Go tools with no Debian package or binary wheel, built from the Go module
# proxy into the venv at pinned versions (needs Go >= 1.25):
#   actionlint        the workflow checker
#   toxiproxy-server  fault injection between modelbay and SeaweedFS (e2e)
#   ec2-metadata-mock AWS's IMDS mock, for the EC2 instance-profile credentials (e2e)
ACTIONLINT_VERSION=v1.7.12
TOXIPROXY_VERSION=v2.5.0
EC2_METADATA_MOCK_VERSION=v1.13.0
GO=$(command -v go || echo /usr/local/go/bin/go)
# go_tool NAME PACKAGE VERSION: installs PACKAGE@VERSION as .venv/bin/NAME
# unless the binary there was already built from that module version.
go_tool() {
  local name=$1 pkg=$2 version=$3
  if [ -x ".venv/bin/$name" ] && "$GO" version -m ".venv/bin/$name" 2>/dev/null \
      | awk '$1 == "mod" {print $3}' | grep -qx "$version"; then
    return 0
  fi
  [ -x "$GO" ] || { echo "install-deps: Go >= 1.25 is needed to build $name (https://go.dev/dl)" >&2; exit 1; }
  echo "==> building $name $version into .venv/bin"
  local tmp
  tmp=$(mktemp -d)
  GOBIN="$tmp" "$GO" install "$pkg@$version"
  mv "$tmp/$(basename "$pkg")" ".venv/bin/$name"
  rm -rf "$tmp"
}
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
go_tool toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server "$TOXIPROXY_VERSION"
go_tool ec2-metadata-mock github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock "$EC2_METADATA_MOCK_VERSION"
