//! Does each adapter block's component export the role it is configured for? Read from the
//! file's export section without compiling (`allora_sandbox::static_exports`), so
//! `config validate` refuses what `run` would refuse, in milliseconds.

use std::io::Read;

use allora_sandbox::Role;
use allora_sandbox::static_exports::read_component_exports;

use super::Ctx;
use super::adapters::AdapterPlan;

/// Files larger than this are left to the runtime's size cap (which names its own limit).
const MAX_READ_BYTES: u64 = 64 << 20;

/// Records an issue at `path` (the adapter block's JSON path) when the component cannot be
/// read or does not export `role`. A missing file was already reported by the block itself.
pub(super) fn check_role(plan: &AdapterPlan, role: Role, path: &str, cx: &mut Ctx<'_>) {
    let Ok(file) = std::fs::File::open(&plan.wasm) else {
        return;
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_READ_BYTES).read_to_end(&mut bytes) {
        cx.err(
            format!("{path}.wasm"),
            format!("cannot read {}: {e}", plan.wasm.display()),
            "check the file's permissions",
        );
        return;
    }
    let exports = match read_component_exports(&bytes) {
        Ok(e) => e,
        Err(e) => {
            cx.err(
                format!("{path}.wasm"),
                format!("{} is not an adapter component: {e}", plan.wasm.display()),
                "build a WebAssembly component for wasm32-wasip2 (see adapters-wasm/README.md)",
            );
            return;
        }
    };
    if !exports.has_role(role) {
        let has: Vec<&str> = exports.roles().iter().map(|r| r.as_str()).collect();
        let has = if has.is_empty() {
            "no allora:adapter role".to_string()
        } else {
            format!("only {}", has.join(", "))
        };
        cx.err(
            format!("{path}.wasm"),
            format!(
                "{} does not export {} (the {} role); it exports {has}",
                plan.wasm.display(),
                role.export_name(),
                role.as_str()
            ),
            format!(
                "point this block at a component built for the {} role, or move it to the block of a role it exports",
                role.as_str()
            ),
        );
    }
}
