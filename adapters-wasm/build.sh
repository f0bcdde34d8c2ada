#!/usr/bin/env bash
# Builds every adapter from source into adapters-wasm/dist/*.wasm:
#   Rust guests   cargo build --target wasm32-wasip2 --release (wit-bindgen; no cargo-component)
#   Python        componentize-py 0.25.1
#   JavaScript    componentize-js 0.23.0 (pinned in js-inference/ and js-fetch/package-lock.json)
# Needs: rustup target wasm32-wasip2, componentize-py 0.25.1, node + npm.
# ./scripts/test installs these on a fresh machine (componentize-py into the repository's .venv,
# which this script uses when componentize-py is not on PATH; the image puts it on PATH).
set -euo pipefail
cd "$(dirname "$0")"
DIST="$PWD/dist"
mkdir -p "$DIST"

COMPONENTIZE_PY=componentize-py
if ! command -v componentize-py >/dev/null 2>&1; then
  if [ -x ../.venv/bin/componentize-py ]; then
    COMPONENTIZE_PY="$(cd .. && pwd)/.venv/bin/componentize-py"
  else
    echo "adapters-wasm/build.sh: componentize-py not found on PATH nor in .venv/ — run ./scripts/test (it installs it) or: pip install componentize-py==0.25.1" >&2
    exit 1
  fi
fi

echo "==> Rust adapters (wasm32-wasip2)"
cargo build --locked --target wasm32-wasip2 --release
for crate in http_source smoothing_model custom_loss trivial hostile; do
  cp "target/wasm32-wasip2/release/$crate.wasm" "$DIST/$crate.wasm"
done

echo "==> Python adapter (componentize-py)"
(cd py-inference && "$COMPONENTIZE_PY" -d ../../wit -w inferer componentize app -o "$DIST/py_inference.wasm")

echo "==> JavaScript adapters (componentize-js)"
# js-inference uses allora:adapter/http (built without wasi:http); js-fetch uses the standard
# fetch() over wasi:http.
for js in js-inference js-fetch; do
  (
    cd "$js"
    if [ ! -d node_modules/@bytecodealliance/componentize-js ]; then
      npm ci --no-audit --no-fund
    fi
    npm run --silent build
  )
done

ls -l "$DIST"
