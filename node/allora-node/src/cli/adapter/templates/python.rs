//! Python projects: `app.py` with one class per exported interface, built by componentize-py.

use allora_sandbox::Role;

use super::{File, fill, role_snippets};
use crate::cli::adapter::new::Scaffold;

fn snippet(role: Role) -> &'static str {
    match role {
        Role::Inference => include_str!("python/inference.py.tmpl"),
        Role::Forecast => include_str!("python/forecast.py.tmpl"),
        Role::GroundTruth => include_str!("python/ground_truth.py.tmpl"),
        Role::Loss => include_str!("python/loss.py.tmpl"),
    }
}

pub(super) fn files(s: &Scaffold) -> Vec<File> {
    let app = format!(
        "{}\n\n{}",
        fill(include_str!("python/app.py.tmpl"), s),
        role_snippets(s, snippet).replace("\nclass ", "\n\nclass ")
    );
    vec![
        File::text("app.py", app),
        File::text(".gitignore", "*.wasm\n__pycache__/\n".to_string()),
        File::script("build.sh", fill(include_str!("python/build.sh.tmpl"), s)),
    ]
}
