# syntax=docker/dockerfile:1
#
# competitor-sync container images (see docs/deploy.md).
#
#   docker build -t competitor-sync .                                  # production: the last stage
#   docker build --target sandbox -t competitor-sync-sandbox .          # demo stand-ins, never deployed
#
# Stages: chef (cargo-chef) -> planner (the workspace's dependency recipe) -> dependencies
# (compiled in a layer of their own, rebuilt only when a Cargo.toml or Cargo.lock changes)
# -> builder (the service alone) and, only for --target sandbox, sandbox-builder (the sandbox
# alone) -> sandbox (demo only) -> runtime (production, last, so a plain `docker build` gives
# it).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /build

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# The dependencies of the two binaries the images ship, and nothing of the benchmark's or
# the tests'. The sandbox's dependencies and their features are a subset of the service's,
# so the production build below finds everything it needs here compiled as it needs it.
FROM chef AS dependencies
COPY --from=planner /build/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
    -p competitor-sync --bin competitor-sync \
    -p competitor-sync-sandbox --bin competitor-sync-sandbox

# The production binary, built for its package alone: no member's features reach it.
FROM dependencies AS builder
COPY . .
RUN cargo build --release --locked -p competitor-sync --bin competitor-sync

# Only `--target sandbox` (docker compose's sandbox service) builds this, on the shared
# dependency layer rather than on the stage that compiled the service.
FROM dependencies AS sandbox-builder
COPY . .
RUN cargo build --release --locked -p competitor-sync-sandbox --bin competitor-sync-sandbox

# The demo's stand-ins for Gong and Salesforce. A development tool: no real data, demo
# credentials; never part of the production image.
FROM debian:${DEBIAN_RELEASE}-slim AS sandbox
# curl: the health probe below, as in the runtime stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sandbox \
    && useradd --system --uid 10001 --gid sandbox --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin sandbox
COPY --from=sandbox-builder /build/target/release/competitor-sync-sandbox /usr/local/bin/
USER 10001:10001
ENV SANDBOX_BIND=0.0.0.0:8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/healthz"]
ENTRYPOINT ["competitor-sync-sandbox"]
CMD ["serve"]

# Production.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: the HTTP client trusts the system's CA store for Gong and Salesforce.
# curl: the HEALTHCHECK's probe of /healthz; the service has no probe command of its own and
# the slim image has no HTTP client. Versions are left to the Debian release's security
# updates rather than pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 competitor-sync \
    && useradd --system --uid 10001 --gid competitor-sync --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin competitor-sync \
    && mkdir -p /data /config \
    && chown 10001:10001 /data
COPY --from=builder /build/target/release/competitor-sync /usr/local/bin/
# The settings file mounted over it (or the directory /config) replaces this one; secrets go
# in COMPETITOR_SYNC__<SECTION>__<KEY> environment variables.
COPY config/container.toml /config/competitor-sync.toml
ENV COMPETITOR_SYNC_CONFIG=/config/competitor-sync.toml
# The job store (SQLite). One service process per store: see docs/deploy.md.
VOLUME ["/data"]
WORKDIR /
USER 10001:10001
EXPOSE 8080
# /healthz answers while the process serves HTTP (liveness); orchestrators should also probe
# /readyz (503 when the store does not answer). The port is server.bind's.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["competitor-sync"]
CMD ["serve"]
