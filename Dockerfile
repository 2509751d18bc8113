# modelbay image: `modelbay serve` by default; the same image trains
# (`docker run IMAGE train --trigger code-change`) and runs the SQS worker.
#   docker build -t modelbay .
#   docker run -p 8000:8000 --env-file .env modelbay

# ---- build: bookworm with the -dev packages of scripts/install-deps.sh ----
FROM debian:bookworm AS build

# Debian's stable archive only receives fixes, so packages follow bookworm
# rather than exact versions (exact pins break after each point release).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config git ca-certificates \
      libxgboost-dev libboost-dev libboost-system-dev libsimdjson-dev \
      rapidjson-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev \
      libpugixml-dev libsqlite3-dev libzip-dev libcli11-dev libspdlog-dev \
      libfmt-dev libxxhash-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY src ./src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
      -DMODELBAY_BUILD_TESTS=OFF -DMODELBAY_BUILD_BENCHMARKS=OFF \
 && cmake --build build -j"$(nproc)" --target modelbay \
 && strip build/src/modelbay

# ---- runtime: bookworm-slim with the shared libraries only ----
FROM debian:bookworm-slim AS runtime

# Distributed training (`train --distributed`) runs XGBoost's own rabit
# tracker: python3-minimal and the one file tracker.py of python3-xgboost
# (standard library only; the package's numpy/scipy are not installed).
WORKDIR /tmp
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libxgboost0 libcurl4 libssl3 libsqlite3-0 libzip4 \
      libpugixml1v5 libsimdjson14 libspdlog1.10 libfmt9 libboost-system1.74.0 libxxhash0 \
      python3-minimal \
 && apt-get download python3-xgboost \
 && dpkg-deb -x python3-xgboost_*.deb /tmp/python3-xgboost \
 && install -D -m 0644 /tmp/python3-xgboost/usr/lib/python3/dist-packages/xgboost/tracker.py \
      /usr/lib/python3/dist-packages/xgboost/tracker.py \
 && rm -rf python3-xgboost_*.deb /tmp/python3-xgboost \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 modelbay \
 && useradd --system --uid 10001 --gid modelbay --home-dir /var/lib/modelbay \
      --no-create-home --shell /usr/sbin/nologin modelbay \
 && install -d -o modelbay -g modelbay -m 0750 /var/lib/modelbay

COPY --from=build /src/build/src/modelbay /usr/local/bin/modelbay
COPY infra/docker/healthcheck /usr/local/bin/modelbay-healthcheck

# Local state (embedded stores, the prediction-log spool) lives here; on ECS
# the root file system is read-only and this path is a task volume.
# MODELBAY_HOST/MODELBAY_PORT are serve's --host/--port; the health check
# probes MODELBAY_PORT too, so `-e MODELBAY_PORT=9000` moves both.
ENV MODELBAY_HOME=/var/lib/modelbay MODELBAY_HOST=0.0.0.0 MODELBAY_PORT=8000
WORKDIR /var/lib/modelbay
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["modelbay-healthcheck"]
ENTRYPOINT ["modelbay"]
CMD ["serve"]
