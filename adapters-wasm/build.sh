#!/usr/bin/env bash
# Builds every adapter from source into adapters-wasm/dist/*.wasm:
#   Rust guests   cargo build --target wasm32-wasip2 --release (wit-bindgen; no cargo-component)
#   Python        componentize-py 0.25.1
#   JavaScript    componentize-js 0.23.0 (pinned in js-inference/ and js-fetch/package-lock.json)
#   Go            Go's compiler (wasip1 reactor) + wasm-tools, with go-allora/'s preview1 shim
#                 (go-inference/build.sh); skipped with a warning where Go is not installed (the
#                 container image), unless ALLORA_REQUIRE_GO_ADAPTERS=1 (scripts/test sets it)
# Needs: rustup target wasm32-wasip2, componentize-py 0.25.1, node + npm; for Go: go 1.24+ and
# wasm-tools on PATH or in ../.tools/bin (./scripts/test setup installs it).
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
for crate in http_source smoothing_model custom_loss trivial hostile onnx_model; do
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

echo "==> Go adapter (Go wasip1 reactor + wasm-tools)"
if command -v go >/dev/null 2>&1; then
  go-inference/build.sh "$DIST/go_inference.wasm"
elif [ "${ALLORA_REQUIRE_GO_ADAPTERS:-}" = 1 ]; then
  echo "adapters-wasm/build.sh: go not found on PATH, and ALLORA_REQUIRE_GO_ADAPTERS=1" >&2
  exit 1
else
  echo "!!! go not found: go_inference.wasm NOT built (set ALLORA_REQUIRE_GO_ADAPTERS=1 to make this an error)" >&2
fi

ls -l "$DIST"
