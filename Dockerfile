# competitor-sync container images (see docs/deploy.md).
#
#   docker build -t competitor-sync .                                  # production: the last stage
#   docker build --target sandbox -t competitor-sync-sandbox .          # demo stand-ins, never deployed
#
# Stages: chef (cargo-chef) -> planner (the workspace's dependency recipe) -> dependencies
# (compiled in a layer of their own, rebuilt only when a Cargo.toml or Cargo.lock changes)
# -> sources (the workspace copied in) -> builder (the service alone) and, only for
# --target sandbox, sandbox-builder (the sandbox alone) -> sandbox (demo only) -> runtime
# (production, last, so a plain `docker build` gives it).
#
# Behind an HTTPS proxy that re-signs traffic with its own CA, give the build stages that CA
# (a PEM file) as a secret; it is trusted by cargo in the build stages only and never reaches
# an image that ships (docs/deploy.md):
#
#   docker build --secret id=extra_ca,src=/path/to/proxy-ca.pem -t competitor-sync .
#
# No `# syntax=` line: it would make BuildKit pull a frontend image (impossible on a closed
# network), and the frontend built into Docker 23+ and buildah reads everything used here.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
# The extra CA joins this stage's trust store, inherited by every build stage below (each
# fetches crates); the runtime and sandbox stages start afresh from debian's slim image. The
# secret itself is never stored in a layer. cargo-chef is built without optimisation: it only
# reads manifests, and a debug build compiles in a fraction of a release build's time.
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then \
        cp /run/secrets/extra_ca /usr/local/share/ca-certificates/build-extra-ca.crt \
        && update-ca-certificates; \
    fi \
    && cargo install cargo-chef --locked --version 0.1.78 --debug
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

# The workspace's sources on the compiled dependencies: one layer both builds below start
# from (built side by side, they would otherwise each copy the sources into a layer of its
# own, and the next build could take the cache of either).
FROM dependencies AS sources
COPY . .

# The production binary, built for its package alone: no member's features reach it.
FROM sources AS builder
RUN cargo build --release --locked -p competitor-sync --bin competitor-sync

# Only `--target sandbox` (docker compose's sandbox service) builds this, on the shared
# dependency layer rather than on the stage that compiled the service. Both packages are
# selected, as in the cook above, so the dependencies' features resolve as they were
# compiled there (the sandbox alone would ask for fewer and recompile about 100 crates);
# `--bin` builds the sandbox's binary only, never the service.
FROM sources AS sandbox-builder
RUN cargo build --release --locked -p competitor-sync -p competitor-sync-sandbox \
    --bin competitor-sync-sandbox

# The demo's stand-ins for Gong and Salesforce. A development tool: no real data, demo
# credentials; never part of the production image.
FROM debian:${DEBIAN_RELEASE}-slim AS sandbox
# curl: the health probe below, as in the runtime stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 sandbox \
    && useradd --uid 10001 --gid sandbox --no-log-init -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
        --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sandbox
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
# The user is a regular one with a fixed id rather than --system: 10001 is above
# SYS_UID_MAX, which useradd --system warns about; --no-log-init keeps the sparse lastlog
# and faillog entries (stored in full by a layer) out, and -K SUB_*_COUNT=0 the subordinate
# id ranges a login user would get.
# curl: the HEALTHCHECK's probe of /healthz; the service has no probe command of its own and
# the slim image has no HTTP client. Versions are left to the Debian release's security
# updates rather than pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 competitor-sync \
    && useradd --uid 10001 --gid competitor-sync --no-log-init -K SUB_UID_COUNT=0 \
        -K SUB_GID_COUNT=0 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        competitor-sync \
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
