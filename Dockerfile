# syntax=docker/dockerfile:1
#
# allora-node container image: the same binary and the same shipped adapters as the README's
# commands, built from source in the builder stage.
#
#   docker build -t allora-node .
#   docker run --rm -v "$PWD/config.json:/app/config.json:ro" -v "$PWD/data:/app/data" \
#     -e ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH=/app/config.json -p 2112:2112 allora-node
#
# Config comes from ALLORA_OFFCHAIN_NODE_CONFIG_JSON (inline JSON) or
# ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH (a mounted file), as with the Go node.
# Paths in the config are relative to the config file: the image mirrors the repository
# layout under /app, so `adapters-wasm/dist/<name>.wasm` works on the host and in here alike.

# Node.js for the JavaScript adapter toolchain (jco / componentize-js), copied into the builder.
FROM node:22-bookworm-slim AS node

FROM rust:1.95-bookworm AS builder
# Adapter toolchains: wasm32-wasip2 for Rust guests, componentize-py for Python guests,
# node + npm for JavaScript guests (adapters-wasm/build.sh drives all three).
RUN rustup target add wasm32-wasip2
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir componentize-py==0.25.1
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY node ./node
COPY tests ./tests
COPY wit ./wit
COPY adapters-wasm ./adapters-wasm
# The shipped adapters, exactly as `./scripts/test` builds them.
RUN adapters-wasm/build.sh
RUN cargo build --release --locked -p allora-node \
 && install -m 0755 target/release/allora-node /usr/local/bin/allora-node

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/allora allora \
 && mkdir -p /app/data \
 && chown allora:allora /app/data
COPY --from=builder /usr/local/bin/allora-node /usr/local/bin/allora-node
COPY --from=builder /src/adapters-wasm/dist/ /app/adapters-wasm/dist/
COPY deploy/healthcheck.sh /usr/local/bin/allora-healthcheck
WORKDIR /app
USER allora
ENV LOG_FORMAT=json \
    ALLORA_NODE_ADAPTERS_DIR=/app/adapters-wasm/dist
# Prometheus /metrics, /health and /ready (node.metricsAddr, default 0.0.0.0:2112).
EXPOSE 2112
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["allora-healthcheck", "127.0.0.1:2112", "/health"]
ENTRYPOINT ["allora-node"]
CMD ["run"]
