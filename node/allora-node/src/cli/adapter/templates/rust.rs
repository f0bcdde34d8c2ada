//! Rust projects: a cdylib crate with wit-bindgen 0.57, built for wasm32-wasip2.

use allora_sandbox::Role;

use super::{File, fill, role_snippets};
use crate::cli::adapter::new::Scaffold;

fn snippet(role: Role) -> &'static str {
    match role {
        Role::Inference => include_str!("rust/inference.rs.tmpl"),
        Role::Forecast => include_str!("rust/forecast.rs.tmpl"),
        Role::GroundTruth => include_str!("rust/ground_truth.rs.tmpl"),
        Role::Loss => include_str!("rust/loss.rs.tmpl"),
    }
}

pub(super) fn files(s: &Scaffold) -> Vec<File> {
    let lib = format!(
        "{}\n{}",
        fill(include_str!("rust/lib.rs.tmpl"), s),
        role_snippets(s, snippet)
    );
    vec![
        File::text("Cargo.toml", fill(include_str!("rust/Cargo.toml.tmpl"), s)),
        File::text("src/lib.rs", lib),
        File::text(".gitignore", "/target\n*.wasm\n".to_string()),
        File::script("build.sh", fill(include_str!("rust/build.sh.tmpl"), s)),
    ]
}
