//! Go projects: Go's own compiler (GOOS=wasip1, reactor) with the hand-written canonical-ABI
//! glue from `adapters-wasm/go-allora` (why hand-written: see its `abi.go`), componentized by
//! `build.sh` with wasm-tools and that directory's WASI preview1 shim (why not wasmtime's
//! preview1 adapter: see `preview1/shim.wat`). Both are copied verbatim into the project.

use allora_sandbox::Role;

use super::{File, fill};
use crate::cli::adapter::new::Scaffold;

/// The glue package (`allora/`) and the preview1 shim (`preview1/`), copied into the project.
const GLUE: [(&str, &str); 10] = [
    (
        "allora/abi.go",
        include_str!("../../../../../../adapters-wasm/go-allora/abi.go"),
    ),
    (
        "allora/host.go",
        include_str!("../../../../../../adapters-wasm/go-allora/host.go"),
    ),
    (
        "allora/inference.go",
        include_str!("../../../../../../adapters-wasm/go-allora/inference.go"),
    ),
    (
        "allora/forecast.go",
        include_str!("../../../../../../adapters-wasm/go-allora/forecast.go"),
    ),
    (
        "allora/ground_truth.go",
        include_str!("../../../../../../adapters-wasm/go-allora/ground_truth.go"),
    ),
    (
        "allora/loss.go",
        include_str!("../../../../../../adapters-wasm/go-allora/loss.go"),
    ),
    (
        "preview1/shim.wat",
        include_str!("../../../../../../adapters-wasm/go-allora/preview1/shim.wat"),
    ),
    (
        "preview1/wit/shim.wit",
        include_str!("../../../../../../adapters-wasm/go-allora/preview1/wit/shim.wit"),
    ),
    (
        "preview1/wit/deps/clocks.wit",
        include_str!("../../../../../../adapters-wasm/go-allora/preview1/wit/deps/clocks.wit"),
    ),
    (
        "preview1/wit/deps/random.wit",
        include_str!("../../../../../../adapters-wasm/go-allora/preview1/wit/deps/random.wit"),
    ),
];

fn role_file(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Inference => ("inference.go", include_str!("go/inference.go.tmpl")),
        Role::Forecast => ("forecast.go", include_str!("go/forecast.go.tmpl")),
        Role::GroundTruth => ("ground_truth.go", include_str!("go/ground_truth.go.tmpl")),
        Role::Loss => ("loss.go", include_str!("go/loss.go.tmpl")),
    }
}

/// The build tag that compiles a role's export in the glue.
fn tag(role: Role) -> String {
    format!("allora_{}", role.as_str().replace('-', "_"))
}

pub(super) fn files(s: &Scaffold) -> Vec<File> {
    let tags = s
        .roles
        .iter()
        .map(|r| tag(*r))
        .collect::<Vec<_>>()
        .join(",");
    let mut files = vec![
        File::text("go.mod", fill(include_str!("go/go.mod.tmpl"), s)),
        File::text("main.go", fill(include_str!("go/main.go.tmpl"), s)),
        File::text(
            ".gitignore",
            "/target\n/{{ident}}.wasm\n".replace("{{ident}}", &s.ident),
        ),
        File::script(
            "build.sh",
            fill(include_str!("go/build.sh.tmpl"), s).replace("{{go_tags}}", &tags),
        ),
    ];
    files.extend(GLUE.iter().map(|(p, t)| File::text(p, t.to_string())));
    files.extend(s.roles.iter().map(|r| {
        let (path, text) = role_file(*r);
        File::text(path, fill(text, s))
    }));
    files
}
