//! allora-node: an off-chain worker/reputer node for the Allora Network whose model code
//! runs as sandboxed WebAssembly components. See `shared/DESIGN.md` for the architecture.

pub mod proto;
