#!/usr/bin/env bash
# Builds the Go example adapter into a component (default: ../dist/go_inference.wasm):
#   1. Go's own compiler, GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared (a reactor: exports
#      via //go:wasmexport, _initialize runs init), -tags allora_inference (the role's export
#      in ../go-allora, the hand-written canonical-ABI glue);
#   2. wasm-tools component embed: the WIT world allora:adapter/inferer from ../../wit;
#   3. wasm-tools component new --adapt with ../go-allora/preview1 (a WASI preview1 shim made
#      for Go; shim.wat says why wasmtime's reactor adapter does not work with Go's runtime).
# wasm-tools: WASM_TOOLS, else on PATH, else ../../.tools/bin (./scripts/test setup installs it).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-../dist/go_inference.wasm}
wasm_tools=${WASM_TOOLS:-$(command -v wasm-tools || echo "$(cd ../.. && pwd)/.tools/bin/wasm-tools")}
[ -x "$wasm_tools" ] || { echo "go-inference/build.sh: wasm-tools not found ($wasm_tools): run ./scripts/test setup" >&2; exit 1; }
shim=../go-allora/preview1
mkdir -p target
GOOS=wasip1 GOARCH=wasm go build -tags allora_inference -buildmode=c-shared -o target/core.wasm .
"$wasm_tools" parse "$shim/shim.wat" -o target/shim.wasm
"$wasm_tools" component embed "$shim/wit" --world shim target/shim.wasm -o target/shim.embedded.wasm
"$wasm_tools" component embed ../../wit --world allora:adapter/inferer target/core.wasm -o target/embedded.wasm
"$wasm_tools" component new target/embedded.wasm --adapt "wasi_snapshot_preview1=target/shim.embedded.wasm" -o "$out"
