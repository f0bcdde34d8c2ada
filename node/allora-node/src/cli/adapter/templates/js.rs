//! JavaScript projects: `app.js` exporting one object per interface, built by componentize-js.

use allora_sandbox::Role;

use super::{File, fill, role_snippets};
use crate::cli::adapter::new::Scaffold;

fn snippet(role: Role) -> &'static str {
    match role {
        Role::Inference => include_str!("js/inference.js.tmpl"),
        Role::Forecast => include_str!("js/forecast.js.tmpl"),
        Role::GroundTruth => include_str!("js/ground_truth.js.tmpl"),
        Role::Loss => include_str!("js/loss.js.tmpl"),
    }
}

pub(super) fn files(s: &Scaffold) -> Vec<File> {
    let app = format!(
        "{}\n{}",
        fill(include_str!("js/app.js.tmpl"), s),
        role_snippets(s, snippet)
    );
    vec![
        File::text("app.js", app),
        File::text(
            "package.json",
            fill(include_str!("js/package.json.tmpl"), s),
        ),
        File::text(".gitignore", "*.wasm\nnode_modules/\n".to_string()),
        File::script("build.sh", fill(include_str!("js/build.sh.tmpl"), s)),
    ]
}
