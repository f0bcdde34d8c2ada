//! Which roles a component exports, read straight from its binary without compiling it.
//!
//! `config validate` runs in milliseconds and must agree with `run`: a `groundTruthAdapter`
//! pointing at an inference-only component has to be refused by both. Compiling every
//! adapter in validate would take seconds per file (and is what the compile budget guards
//! against), so validate reads the outer component's export section instead; the full check,
//! each role's functions included, still runs when `run` loads the component.

use wasmparser::{Encoding, Parser, Payload};

use super::Role;

/// The outer component's export names, as written in its export section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentExports {
    pub names: Vec<String>,
}

impl ComponentExports {
    /// Whether the component exports the interface of `role` at this node's WIT version.
    pub fn has_role(&self, role: Role) -> bool {
        let want = role.export_name();
        self.names.contains(&want)
    }

    /// Every role the component exports.
    pub fn roles(&self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| self.has_role(*r))
            .collect()
    }
}

/// Why a file's exports could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaticExportsError {
    #[error("it is a core WebAssembly module, not a component")]
    CoreModule,
    #[error("it is not WebAssembly: {0}")]
    Malformed(String),
}

/// Reads the outer component's export names from `bytes`.
pub fn read_component_exports(bytes: &[u8]) -> Result<ComponentExports, StaticExportsError> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| StaticExportsError::Malformed(e.to_string()))?;
        match payload {
            // Nested modules and components start with their own header; only the outer
            // component's exports are what the host sees.
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(StaticExportsError::CoreModule);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export =
                        export.map_err(|e| StaticExportsError::Malformed(e.to_string()))?;
                    names.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(ComponentExports { names })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_core_modules_are_refused() {
        assert!(matches!(
            read_component_exports(b"not wasm"),
            Err(StaticExportsError::Malformed(_))
        ));
        // The smallest core module: magic + version 1.
        assert_eq!(
            read_component_exports(b"\0asm\x01\0\0\0"),
            Err(StaticExportsError::CoreModule)
        );
    }

    #[test]
    fn an_empty_component_exports_no_role() {
        // Component header: magic, version 0x0d, layer 1.
        let e = read_component_exports(b"\0asm\x0d\0\x01\0").unwrap();
        assert!(e.names.is_empty());
        assert!(e.roles().is_empty());
    }
}
