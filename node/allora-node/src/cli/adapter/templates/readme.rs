//! The scaffolded project's README: how to build it, try each role with `adapter run`, and
//! reference it from the node's config.json.

use allora_sandbox::Role;

use super::Lang;
use crate::cli::adapter::new::Scaffold;

/// What each language needs installed, and what its build runs.
fn toolchain(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => {
            "Needs Rust with `rustup target add wasm32-wasip2`. `build.sh` runs\n`cargo build --target wasm32-wasip2 --release` (wit-bindgen generates the bindings from\n`wit/` at compile time) and copies the component here."
        }
        Lang::Python => {
            "Needs `pip install componentize-py==0.25.1` (on PATH, or in a `.venv/` here or in a parent\ndirectory). `build.sh` runs `componentize-py -d wit -w <world> componentize app`."
        }
        Lang::Js => {
            "Needs Node.js and npm. `build.sh` runs `npm install` once (componentize-js 0.23.0, pinned in\n`package.json`) and then `npm run build`."
        }
        Lang::Go => {
            "Needs Go 1.24 or newer and `wasm-tools` (`cargo install --locked wasm-tools@1.254.2`; or set\n`WASM_TOOLS=/path/to/wasm-tools`). `build.sh` compiles a WASI preview1 *reactor* with Go's own\ncompiler (`GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`, one build tag per role),\nembeds the WIT world with `wasm-tools component embed`, and turns it into a component with\n`wasm-tools component new --adapt`, linking `preview1/shim.wat` in place of WASI preview1\n(wasmtime's own preview1 adapter does not work with Go's runtime; the file says why).\n\nThe package `allora/` is the canonical-ABI glue for the WIT contract (imports `http` and\n`log`, one export file per role). It is written by hand because wit-bindgen-go's output does\nnot compile with Go's compiler (64-bit pointers on `GOARCH=wasm`); set the role functions\n(`allora.Infer`, …) in `init` and leave the glue alone."
        }
    }
}

/// The source file the example code is in.
fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "src/lib.rs",
        Lang::Python => "app.py",
        Lang::Js => "app.js",
        Lang::Go => "main.go",
    }
}

fn run_example(s: &Scaffold, role: Role) -> String {
    let wasm = format!("{}.wasm", s.ident);
    let args = match role {
        Role::Inference => {
            "--param PriceEndpoint=http://127.0.0.1:8000/prices --allow-host 127.0.0.1:8000"
        }
        Role::Forecast => "--inferer allo1aaa --inferer allo1bbb",
        Role::GroundTruth => {
            "--param GroundTruthEndpoint=http://127.0.0.1:8000/truth --allow-host 127.0.0.1:8000"
        }
        Role::Loss => "--ground-truth 3.5 --prediction 3 --prediction 4.5",
    };
    format!("allora-node adapter run {wasm} --role {role} {args}")
}

fn what(role: Role) -> &'static str {
    match role {
        Role::Inference => {
            "**inference** GETs `PriceEndpoint` (a JSON array of numbers) and returns their mean as `y`."
        }
        Role::Forecast => {
            "**forecast** forecasts the loss `ForecastLoss` (default `0.1`) for every inferer."
        }
        Role::GroundTruth => {
            "**ground-truth** GETs `GroundTruthEndpoint` and returns the trimmed body."
        }
        Role::Loss => {
            "**loss** is the absolute error `|prediction - truth|`, declared never negative."
        }
    }
}

fn config_key(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Inference => ("worker", "inferenceAdapter"),
        Role::Forecast => ("worker", "forecastAdapter"),
        Role::GroundTruth => ("reputer", "groundTruthAdapter"),
        Role::Loss => ("reputer", "lossAdapter"),
    }
}

/// Renders README.md.
pub fn render(lang: Lang, s: &Scaffold) -> String {
    let wasm = format!("{}.wasm", s.ident);
    let mut out = format!(
        "# {name}\n\nAn Allora adapter in {lang}, scaffolded by `allora-node adapter new`: a WebAssembly\ncomponent for the world `allora:adapter/{world}` (roles: {roles}). The WIT contract in `wit/`\nis the adapter author's manual.\n\n## Example code (`{src}`)\n\n",
        name = s.name,
        lang = lang.as_str(),
        world = s.world,
        roles = s.role_list(),
        src = source(lang),
    );
    for r in &s.roles {
        out.push_str(&format!("- {}\n", what(*r)));
    }
    out.push_str(&format!(
        "\nReplace it with your model; numbers cross the boundary as decimal strings and the node\nrejects NaN, Infinity and junk.\n\n## Build\n\n```sh\n./build.sh            # → {wasm}\n```\n\n{}\n\n## Try it\n\n```sh\nallora-node adapter inspect {wasm}\n",
        toolchain(lang)
    ));
    for r in &s.roles {
        out.push_str(&run_example(s, *r));
        out.push('\n');
    }
    out.push_str(
        "```\n\nThe sandbox is the node's: no files, no environment, no sockets; HTTP only through\n`allora:adapter/http` and only to `--allow-host` entries (config: `allowedHosts`).\n\n## Use it in config.json\n\n```json\n",
    );
    let mut sections: Vec<(&str, Vec<String>)> = vec![];
    for r in &s.roles {
        let (section, key) = config_key(*r);
        let block = format!(
            "      \"{key}\": {{ \"wasm\": \"path/to/{wasm}\", \"allowedHosts\": [\"api.example.com\"], \"timeoutMs\": 5000, \"memoryMb\": 64 }}"
        );
        match sections.iter_mut().find(|(s, _)| *s == section) {
            Some((_, blocks)) => blocks.push(block),
            None => sections.push((section, vec![block])),
        }
    }
    for (section, blocks) in sections {
        out.push_str(&format!(
            "\"{section}\": [ {{\n      \"topicId\": 1,\n{}\n}} ]\n",
            blocks.join(",\n")
        ));
    }
    out.push_str(
        "```\n\nPaths are relative to the config file; `allora-node config validate` checks that the\ncomponent exports the configured roles. Topic `parameters` (reputers: `groundTruthParameters`,\n`lossFunctionParameters`) reach the adapter as `ctx.params`.\n",
    );
    out
}
