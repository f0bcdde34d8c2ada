#
# allora-node container image: the same binary and the same shipped adapters as the README's
# commands, built from source in the builder stage.
#
#   DOCKER_BUILDKIT=0 docker build -t allora-node .     # BuildKit works too; nothing here needs it
#   docker run --rm -v "$PWD/config.json:/app/config.json:ro" -v "$PWD/data:/app/data" \
#     -e ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH=/app/config.json -p 2112:2112 allora-node
#
# Config comes from ALLORA_OFFCHAIN_NODE_CONFIG_JSON (inline JSON) or
# ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH (a mounted file), as with the Go node.
# Paths in the config are relative to the config file: the image mirrors the repository
# layout under /app, so `adapters-wasm/dist/<name>.wasm` works on the host and in here alike.
#
# Layers are ordered from the slowest-changing to the fastest-changing so that a rebuild after a
# source edit reuses the toolchains, the adapters and the compiled dependencies:
#   toolchains → adapters (wit/, adapters-wasm/) → dependencies (manifests + stub sources) → node.

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
# The shipped adapters, exactly as `./scripts/test` builds them (their own cargo workspace).
COPY wit ./wit
COPY adapters-wasm ./adapters-wasm
RUN adapters-wasm/build.sh

# Dependencies only: the manifests, the lockfile and the protocol's build script with its protos,
# plus an empty stand-in for every target file the manifests name. This layer is rebuilt only
# when a manifest or the lockfile changes.
COPY Cargo.toml Cargo.lock ./
COPY node/allora-protocol/Cargo.toml node/allora-protocol/build.rs ./node/allora-protocol/
COPY node/allora-sandbox/Cargo.toml ./node/allora-sandbox/
COPY node/allora-chain-client/Cargo.toml ./node/allora-chain-client/
COPY node/allora-devnet/Cargo.toml ./node/allora-devnet/
COPY node/allora-node/Cargo.toml ./node/allora-node/
COPY node/proto ./node/proto
RUN for m in node/*/Cargo.toml; do \
      d=$(dirname "$m"); mkdir -p "$d/src"; \
      [ -f "$d/src/lib.rs" ] || : > "$d/src/lib.rs"; \
      for p in $(sed -n 's/^path *= *"\(.*\)"/\1/p' "$m") \
               $(awk '/^\[\[bench\]\]/{b=1;next} /^\[/{b=0} b&&/^name *=/{gsub(/^name *= *"|"$/,"");print "benches/"$0".rs"}' "$m"); do \
        mkdir -p "$(dirname "$d/$p")"; [ -f "$d/$p" ] || echo 'fn main() {}' > "$d/$p"; \
      done; \
    done \
 && cargo build --release --locked -p allora-node \
 && rm -rf node/*/src node/*/benches tests

# The node itself. `demo` embeds config.example.json (include_str!), so it is part of the build.
# The integration tests under tests/ are not built here; cargo only needs their files to exist,
# so they get stand-ins again and editing a test does not rebuild the image.
COPY config.example.json ./
COPY node ./node
RUN find node -name '*.rs' -exec touch {} + \
 && for p in $(sed -n 's/^path *= *"\.\.\/\.\.\/\(tests\/.*\)"/\1/p' node/*/Cargo.toml); do \
      mkdir -p "$(dirname "$p")"; echo 'fn main() {}' > "$p"; \
    done \
 && cargo build --release --locked -p allora-node \
 && install -m 0755 target/release/allora-node /usr/local/bin/allora-node \
 && allora-node --version

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
