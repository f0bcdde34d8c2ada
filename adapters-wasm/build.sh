#!/usr/bin/env bash
# Builds every adapter from source into adapters-wasm/dist/*.wasm:
#   Rust guests   cargo build --target wasm32-wasip2 --release (wit-bindgen; no cargo-component)
#   Python        componentize-py 0.25.1
#   JavaScript    componentize-js 0.23.0 (pinned in js-inference/package-lock.json)
# Needs: rustup target wasm32-wasip2, `pip install componentize-py==0.25.1`, node + npm.
# .ci/run installs these on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")"
DIST="$PWD/dist"
mkdir -p "$DIST"

echo "==> Rust adapters (wasm32-wasip2)"
cargo build --locked --target wasm32-wasip2 --release
for crate in http_source smoothing_model custom_loss trivial hostile; do
  cp "target/wasm32-wasip2/release/$crate.wasm" "$DIST/$crate.wasm"
done

echo "==> Python adapter (componentize-py)"
(cd py-inference && componentize-py -d ../../wit -w inferer componentize app -o "$DIST/py_inference.wasm")

echo "==> JavaScript adapter (componentize-js)"
(
  cd js-inference
  if [ ! -d node_modules/@bytecodealliance/componentize-js ]; then
    npm install --no-audit --no-fund
  fi
  npm run --silent build
)

ls -l "$DIST"
