#!/usr/bin/env bash
# Builds the Go example adapter into a component (default: ../dist/go_inference.wasm):
#   1. Go's own compiler, GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared (a reactor: exports
#      via //go:wasmexport, _initialize runs init), -tags allora_inference (the role's export
#      in ../go-allora, the hand-written canonical-ABI glue);
#   2. wasm-tools component embed: the WIT world allora:adapter/inferer from ../../wit;
#   3. wasm-tools component new --adapt with the WASI preview1 *reactor* adapter of wasmtime 48.
# Tools: WASM_TOOLS (default: wasm-tools on PATH, else ../../.tools/bin/wasm-tools) and
# WASI_PREVIEW1_REACTOR (default ../../.tools/wasi-preview1/wasi_snapshot_preview1.reactor.wasm);
# ./scripts/test setup installs both.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-../dist/go_inference.wasm}
tools=$(cd ../.. && pwd)/.tools
wasm_tools=${WASM_TOOLS:-$(command -v wasm-tools || echo "$tools/bin/wasm-tools")}
reactor=${WASI_PREVIEW1_REACTOR:-$tools/wasi-preview1/wasi_snapshot_preview1.reactor.wasm}
[ -x "$wasm_tools" ] || { echo "go-inference/build.sh: wasm-tools not found ($wasm_tools): run ./scripts/test setup" >&2; exit 1; }
[ -f "$reactor" ] || { echo "go-inference/build.sh: WASI preview1 reactor adapter not found ($reactor): run ./scripts/test setup" >&2; exit 1; }
mkdir -p target
GOOS=wasip1 GOARCH=wasm go build -tags allora_inference -buildmode=c-shared -o target/core.wasm .
"$wasm_tools" component embed ../../wit --world allora:adapter/inferer target/core.wasm -o target/embedded.wasm
"$wasm_tools" component new target/embedded.wasm --adapt "wasi_snapshot_preview1=$reactor" -o "$out"
