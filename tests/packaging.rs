//! Packaging checks: the Dockerfile, docker-compose.yml and the files they provision are
//! correct by construction. No Docker engine runs here, so instead of building the image this
//! test parses both files and checks every reference against the repository and the real node:
//! copied paths exist and are not ignored, subcommands answer `--help` on the built binary,
//! ports match the node's default metrics address, env vars are ones the node reads, the
//! dashboard's metrics are registered by the node, and the example `source` service and the
//! health probe behave as the stack expects (started for real on loopback).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

const BIN: &str = env!("CARGO_BIN_EXE_allora-node");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// A small Dockerfile reader: logical lines (continuations joined, comments dropped), stages.

#[derive(Debug, Clone)]
struct Instr {
    keyword: String,
    args: String,
}

impl Instr {
    /// Exec-form (`["a", "b"]`) arguments, or whitespace-split shell form.
    fn words(&self) -> Vec<String> {
        let a = self.args.trim();
        if a.starts_with('[') {
            serde_json::from_str::<Vec<String>>(a).unwrap_or_else(|e| {
                panic!("{} exec form is not a JSON list: {a}: {e}", self.keyword)
            })
        } else {
            a.split_whitespace().map(str::to_string).collect()
        }
    }

    /// `--flag=value` options at the start of the arguments, and the rest.
    fn flags_and_rest(&self) -> (BTreeMap<String, String>, Vec<String>) {
        let mut flags = BTreeMap::new();
        let mut rest = Vec::new();
        for w in self.words() {
            if rest.is_empty()
                && let Some(f) = w.strip_prefix("--")
            {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                flags.insert(k.to_string(), v.to_string());
            } else {
                rest.push(w);
            }
        }
        (flags, rest)
    }
}

#[derive(Debug, Clone)]
struct Stage {
    base: String,
    name: Option<String>,
    instrs: Vec<Instr>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &Instr> {
        self.instrs.iter().filter(move |i| i.keyword == keyword)
    }

    fn last(&self, keyword: &str) -> Option<&Instr> {
        self.all(keyword).last()
    }

    fn runs(&self) -> String {
        self.all("RUN")
            .map(|i| i.args.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The WORKDIR in effect at the end of the stage (absolute), or `/`.
    fn workdir(&self) -> String {
        self.last("WORKDIR")
            .map(|i| i.args.trim().to_string())
            .unwrap_or_else(|| "/".into())
    }

    /// `ENV` names and values set in this stage.
    fn env(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for i in self.all("ENV") {
            for pair in i.args.split_whitespace() {
                let (k, v) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("use the ENV key=value form (got `{}`)", i.args));
                out.insert(k.to_string(), v.to_string());
            }
        }
        out
    }
}

fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
        } else {
            cur.push_str(t);
            logical.push(std::mem::take(&mut cur));
        }
    }
    assert!(
        cur.trim().is_empty(),
        "Dockerfile ends inside a continuation"
    );
    let mut stages: Vec<Stage> = Vec::new();
    for l in logical {
        let (kw, args) = l
            .split_once(char::is_whitespace)
            .unwrap_or((l.as_str(), ""));
        let instr = Instr {
            keyword: kw.to_ascii_uppercase(),
            args: args.trim().to_string(),
        };
        if instr.keyword == "FROM" {
            let w = instr.words();
            let name = match w.as_slice() {
                [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name.clone()),
                [_] => None,
                _ => panic!("unexpected FROM line: {}", instr.args),
            };
            stages.push(Stage {
                base: w[0].clone(),
                name,
                instrs: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .expect("an instruction before the first FROM")
                .instrs
                .push(instr);
        }
    }
    stages
}

fn dockerfile() -> Vec<Stage> {
    parse_dockerfile(&read("Dockerfile"))
}

fn stage<'a>(stages: &'a [Stage], name: &str) -> &'a Stage {
    stages
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("Dockerfile has no stage `{name}`"))
}

/// Joins a container path onto a WORKDIR unless it is absolute; normalises `./` and a
/// trailing slash.
fn container_path(workdir: &str, p: &str) -> String {
    let p = p.trim_start_matches("./");
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), p)
    };
    let trimmed = joined.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

/// Patterns of `.dockerignore` that would exclude `rel` from the build context.
fn ignored_by(rel: &str) -> Vec<String> {
    let rel = rel.trim_start_matches("./").trim_end_matches('/');
    read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|pat| {
            let pat = pat.trim_end_matches('/');
            let parts: Vec<&str> = rel.split('/').collect();
            // `**/x` matches x at any depth; `a/b` matches that path or anything below it.
            if let Some(tail) = pat.strip_prefix("**/") {
                parts.contains(&tail)
            } else {
                rel == pat || rel.starts_with(&format!("{pat}/"))
            }
        })
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The node itself: its default metrics port, the env vars and metric names it uses.

fn node_sources(dir: &str) -> String {
    fn walk(p: &Path, out: &mut String) {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", p.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out);
            } else if e.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&e).expect("read source"));
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    let p = repo().join(dir);
    if p.is_dir() {
        walk(&p, &mut out);
    } else {
        out = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {dir}: {e}"));
    }
    out
}

/// An env var counts as read by the node when its name is a string literal in the node's
/// sources (the config module, `main.rs` logging, clap `env = "…"` attributes).
fn node_reads_env(name: &str) -> bool {
    node_sources("node/allora-node/src").contains(&format!("\"{name}\""))
}

/// Metric names registered in `node/allora-node/src/metrics.rs` (string literals starting `allora_`).
fn node_metric_names() -> BTreeSet<String> {
    let src = node_sources("node/allora-node/src/metrics.rs");
    let mut out = BTreeSet::new();
    for piece in src.split('"').skip(1).step_by(2) {
        if piece.starts_with("allora_")
            && piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.insert(piece.to_string());
        }
    }
    out
}

/// The port of the node's default `node.metricsAddr`, as the real config module resolves a
/// config that leaves it out.
fn default_metrics_port() -> u16 {
    let dir = tempfile::tempdir().expect("tempdir");
    // A real component: validation reads its exports (the inference role must be there).
    let trivial =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../adapters-wasm/dist/trivial.wasm");
    std::fs::copy(&trivial, dir.path().join("model.wasm")).expect("copy trivial.wasm");
    let text = r#"{
      "wallet": { "addressRestoreMnemonic": "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
                  "nodeRpc": "http://127.0.0.1:26657", "nodeGrpcs": ["http://127.0.0.1:9090"], "chainId": "localnet" },
      "worker": [ { "topicId": 1, "loopSeconds": 5, "inferenceAdapter": { "wasm": "model.wasm" } } ]
    }"#;
    let plan = allora_node::config::load_str(text, "packaging test", dir.path())
        .unwrap_or_else(|e| panic!("minimal config should validate: {e}"));
    plan.node.metrics_addr.port()
}

/// Runs `allora-node <words…> --help` and asserts the subcommand exists.
fn assert_subcommand(words: &[&str]) {
    let out = Command::new(BIN)
        .args(words)
        .arg("--help")
        .output()
        .expect("run allora-node");
    assert!(
        out.status.success(),
        "`allora-node {} --help` failed: {}",
        words.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

#[test]
fn dockerfile_builds_with_the_workspace_toolchain_and_ships_a_slim_runtime() {
    let stages = dockerfile();
    let builder = stage(&stages, "builder");
    let rust_version = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("workspace rust-version");
    assert_eq!(
        builder.base,
        format!("rust:{rust_version}-bookworm"),
        "the builder must use the workspace's pinned Rust"
    );
    let runs = builder.runs();
    assert!(runs.contains("rustup target add wasm32-wasip2"), "{runs}");
    // The image ships what the README's test command builds: the same adapter build script.
    let test_script = read("scripts/test");
    let build_sh = "adapters-wasm/build.sh";
    assert!(test_script.contains(build_sh));
    assert!(runs.contains(build_sh), "builder must run {build_sh}");
    assert!(
        runs.contains("cargo build --release --locked -p allora-node"),
        "builder must build the node from the lockfile: {runs}"
    );
    let runtime = stages.last().expect("stages");
    assert_eq!(runtime.base, "debian:bookworm-slim");
    assert!(runtime.runs().contains("ca-certificates"));
}

#[test]
fn dockerfile_copies_only_existing_unignored_paths_and_everything_cargo_needs() {
    let stages = dockerfile();
    let stage_names: BTreeSet<_> = stages.iter().filter_map(|s| s.name.clone()).collect();
    let mut copied_dirs = BTreeSet::new();
    for s in &stages {
        for c in s.all("COPY") {
            let (flags, mut paths) = c.flags_and_rest();
            assert!(
                paths.len() >= 2,
                "COPY needs a source and a destination: {}",
                c.args
            );
            paths.pop();
            if let Some(from) = flags.get("from") {
                assert!(
                    stage_names.contains(from),
                    "COPY --from={from}: no such stage"
                );
                continue;
            }
            for src in paths {
                let p = repo().join(&src);
                assert!(p.exists(), "COPY {src}: not in the repository");
                let ignored = ignored_by(&src);
                assert!(
                    ignored.is_empty(),
                    "COPY {src} is excluded by .dockerignore {ignored:?}"
                );
                copied_dirs.insert(
                    src.trim_start_matches("./")
                        .trim_end_matches('/')
                        .to_string(),
                );
            }
        }
    }
    // Cargo reads every target path of the manifests it builds; each must be in the image.
    const TEST_STUBS: &str =
        r#"sed -n 's/^path *= *"\.\.\/\.\.\/\(tests\/.*\)"/\1/p' node/*/Cargo.toml"#;
    let builder_runs = stage(&stages, "builder").runs();
    let mut crates = 0;
    for entry in std::fs::read_dir(repo().join("node"))
        .expect("node/")
        .flatten()
    {
        let crate_dir = Path::new("node").join(entry.file_name());
        let manifest_path = crate_dir.join("Cargo.toml");
        if !repo().join(&manifest_path).is_file() {
            continue;
        }
        crates += 1;
        let manifest: toml_like::Manifest =
            toml_like::parse(&read(&manifest_path.to_string_lossy()));
        for rel in manifest.target_paths {
            let norm = normalize(&crate_dir.join(&rel));
            let top = norm.split('/').next().unwrap_or_default().to_string();
            // Integration tests are not built in the image: a stand-in per `path = "../../tests/…"`
            // entry, made by the builder from the manifests themselves, is enough for cargo.
            let stubbed = top == "tests" && builder_runs.contains(TEST_STUBS);
            assert!(
                copied_dirs.contains(&top) || copied_dirs.contains(&norm) || stubbed,
                "{} target {rel} ({norm}) is not copied into the builder (copied: {copied_dirs:?})",
                manifest_path.display()
            );
        }
    }
    assert!(crates >= 5, "workspace crates under node/ not found");
    for member in ["node", "wit", "adapters-wasm", "Cargo.toml", "Cargo.lock"] {
        assert!(copied_dirs.contains(member), "{member} must be copied");
    }
    // Secrets and local state never enter the build context.
    for secret in ["config.json", "data", ".env", "target", ".venv", ".tools"] {
        assert!(
            !ignored_by(secret).is_empty(),
            ".dockerignore must exclude {secret}"
        );
    }
}

/// `a/../b` → `b` (only what target paths like `../tests/x.rs` need).
fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// Just enough of `Cargo.toml` to list target paths (`path = "…"` inside `[[test]]`,
/// `[[bench]]`, `[[example]]`, `[[bin]]`, `[lib]`).
mod toml_like {
    pub struct Manifest {
        pub target_paths: Vec<String>,
    }

    pub fn parse(text: &str) -> Manifest {
        let mut section = String::new();
        let mut target_paths = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            let is_target = ["[[test]]", "[[bench]]", "[[example]]", "[[bin]]", "[lib]"]
                .contains(&section.as_str());
            if is_target && let Some(v) = line.strip_prefix("path") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                target_paths.push(v.to_string());
            }
        }
        Manifest { target_paths }
    }
}

#[test]
fn dockerfile_copies_from_stages_only_what_they_produce() {
    let stages = dockerfile();
    let runtime = stages.last().expect("stages");
    for c in runtime.all("COPY") {
        let (flags, paths) = c.flags_and_rest();
        let Some(from) = flags.get("from") else {
            continue;
        };
        let src_stage = stage(&stages, from);
        let src = container_path(&src_stage.workdir(), &paths[0]);
        let runs = src_stage.runs();
        if src.ends_with("/adapters-wasm/dist") {
            // Produced by the adapter build script, run from the stage's WORKDIR.
            assert_eq!(
                src,
                container_path(&src_stage.workdir(), "adapters-wasm/dist")
            );
            assert!(runs.contains("adapters-wasm/build.sh"));
            assert!(
                read("adapters-wasm/build.sh").contains("dist"),
                "adapters-wasm/build.sh must write adapters-wasm/dist"
            );
        } else {
            assert!(
                runs.contains(&src),
                "COPY --from={from} {src}: no RUN in stage {from} produces it"
            );
        }
    }
}

#[test]
fn dockerfile_runtime_is_non_root_exposes_metrics_and_probes_health() {
    let stages = dockerfile();
    let runtime = stages.last().expect("stages");
    let user = runtime
        .last("USER")
        .expect("runtime stage sets USER")
        .args
        .clone();
    let user_name = user.split(':').next().unwrap_or_default();
    assert!(
        !["root", "0", ""].contains(&user_name),
        "runtime must not run as root (USER {user})"
    );
    assert!(
        runtime.runs().contains("useradd") && runtime.runs().contains(user_name),
        "USER {user_name} must be created in the runtime stage"
    );

    let port = default_metrics_port();
    let exposed: Vec<String> = runtime.all("EXPOSE").flat_map(|i| i.words()).collect();
    assert!(
        exposed.contains(&port.to_string()),
        "EXPOSE {exposed:?} must include the node's default metrics port {port}"
    );

    // Files that exist in the runtime image (COPY destinations).
    let mut image_files = BTreeMap::new();
    for c in runtime.all("COPY") {
        let (flags, paths) = c.flags_and_rest();
        let dest = container_path(&runtime.workdir(), paths.last().expect("dest"));
        image_files.insert(dest, (flags.get("from").cloned(), paths[0].clone()));
    }

    let health = runtime
        .last("HEALTHCHECK")
        .expect("HEALTHCHECK")
        .args
        .clone();
    let cmd = health
        .split_once("CMD")
        .map(|(_, c)| c.trim().to_string())
        .expect("HEALTHCHECK CMD");
    let words = Instr {
        keyword: "HEALTHCHECK".into(),
        args: cmd,
    }
    .words();
    let probe = if words[0].starts_with('/') {
        words[0].clone()
    } else {
        format!("/usr/local/bin/{}", words[0])
    };
    let (from, src) = image_files
        .get(&probe)
        .unwrap_or_else(|| panic!("health probe {probe} is not copied into the image"));
    assert!(from.is_none(), "the probe comes from the repository");
    assert_eq!(src, "deploy/healthcheck.sh");
    assert!(words.contains(&format!("127.0.0.1:{port}")), "{words:?}");
    assert!(words.contains(&"/health".to_string()), "{words:?}");

    // ENTRYPOINT is the node binary, CMD a real subcommand.
    let entry = runtime.last("ENTRYPOINT").expect("ENTRYPOINT").words();
    let entry_bin = if entry[0].starts_with('/') {
        entry[0].clone()
    } else {
        format!("/usr/local/bin/{}", entry[0])
    };
    assert!(
        image_files.contains_key(&entry_bin),
        "{entry_bin} not in the image"
    );
    assert!(entry_bin.ends_with("/allora-node"));
    let cmd = runtime.last("CMD").expect("CMD").words();
    assert_subcommand(&cmd.iter().map(String::as_str).collect::<Vec<_>>());

    for (name, _) in runtime.env() {
        assert!(
            node_reads_env(&name),
            "Dockerfile ENV {name} is not read by the node"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

fn compose() -> Yaml {
    serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

fn service<'a>(c: &'a Yaml, name: &str) -> &'a Yaml {
    c.get("services")
        .and_then(|s| s.get(name))
        .unwrap_or_else(|| panic!("compose has no service `{name}`"))
}

fn str_of(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn list_of(v: Option<&Yaml>) -> Vec<String> {
    v.and_then(Yaml::as_sequence)
        .map(|s| s.iter().map(str_of).collect())
        .unwrap_or_default()
}

fn env_of(svc: &Yaml) -> BTreeMap<String, String> {
    match svc.get("environment") {
        Some(Yaml::Mapping(m)) => m.iter().map(|(k, v)| (str_of(k), str_of(v))).collect(),
        Some(Yaml::Sequence(s)) => s
            .iter()
            .map(|e| {
                let e = str_of(e);
                let (k, v) = e.split_once('=').unwrap_or((&e, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Bind mounts `(host path relative to the repo, container path)`; named volumes skipped.
fn binds(svc: &Yaml) -> Vec<(String, String)> {
    list_of(svc.get("volumes"))
        .into_iter()
        .filter_map(|v| {
            let mut parts = v.split(':');
            let host = parts.next()?.to_string();
            let target = parts.next()?.to_string();
            (host.starts_with("./") || host.starts_with('/')).then_some((host, target))
        })
        .collect()
}

fn container_port(mapping: &str) -> u16 {
    mapping
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad port mapping {mapping}"))
}

/// Paths the stack needs that `scripts/init-config` creates on first run.
const CREATED_BY_INIT: &[&str] = &["./config.json", "./data"];

#[test]
fn compose_builds_the_checked_dockerfiles_and_mounts_existing_files() {
    let c = compose();
    let services = c
        .get("services")
        .and_then(Yaml::as_mapping)
        .expect("services");
    for (name, svc) in services {
        let name = str_of(name);
        if let Some(build) = svc.get("build") {
            let ctx = match build {
                Yaml::String(s) => s.clone(),
                m => str_of(m.get("context").expect("build.context")),
            };
            let dockerfile = repo().join(&ctx).join("Dockerfile");
            assert!(
                dockerfile.is_file(),
                "service {name}: no Dockerfile in {ctx}"
            );
        }
        for (host, _) in binds(svc) {
            if CREATED_BY_INIT.contains(&host.as_str()) {
                continue;
            }
            assert!(
                repo().join(&host).exists(),
                "service {name}: bind mount {host} is missing"
            );
        }
    }
    assert_eq!(
        str_of(service(&c, "node").get("build").expect("node.build")),
        "."
    );

    // What init-config promises to create.
    let init = repo().join("scripts/init-config");
    assert!(
        is_executable(&init),
        "scripts/init-config must be executable"
    );
    let init_text = read("scripts/init-config");
    assert!(init_text.contains("config.example.json") && init_text.contains("/data\""));
    assert!(repo().join("config.example.json").is_file());
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[test]
fn compose_node_service_matches_the_image_and_the_node() {
    let c = compose();
    let node = service(&c, "node");
    let env = env_of(node);
    for name in env.keys() {
        assert!(
            node_reads_env(name),
            "compose node env {name} is not read by the node"
        );
    }
    // The config file the env var names is the mounted one, and relative paths inside the
    // example config land on the ./data mount.
    let config_path = env
        .get("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH")
        .expect("node config path env");
    let mounts: BTreeMap<String, String> = binds(node).into_iter().collect();
    assert_eq!(mounts.get("./config.json"), Some(config_path));
    let config_dir = Path::new(config_path)
        .parent()
        .expect("config dir")
        .to_string_lossy()
        .into_owned();
    let data_mount = mounts.get("./data").expect("./data is mounted");
    assert_eq!(data_mount, &format!("{config_dir}/data"));
    let example = example_config();
    let home = example["wallet"]["alloraHomeDir"]
        .as_str()
        .expect("wallet.alloraHomeDir");
    assert!(
        home.starts_with("data/"),
        "wallet.alloraHomeDir must live under data/ (the mount)"
    );
    assert!(
        example["node"]["cacheDir"]
            .as_str()
            .is_some_and(|v| v.starts_with("data/"))
    );

    // Shipped adapters: where compose says they are is where the image puts them.
    let stages = dockerfile();
    let runtime = stages.last().expect("stages");
    let dist_dest = runtime
        .all("COPY")
        .filter_map(|c| {
            let (_, p) = c.flags_and_rest();
            (p[0].trim_end_matches('/').ends_with("adapters-wasm/dist"))
                .then(|| container_path(&runtime.workdir(), p.last().expect("dest")))
        })
        .next()
        .expect("runtime copies adapters-wasm/dist");
    assert_eq!(env.get("ALLORA_NODE_ADAPTERS_DIR"), Some(&dist_dest));
    assert_eq!(format!("{config_dir}/adapters-wasm/dist"), dist_dest);
    assert_eq!(runtime.workdir(), config_dir);

    // Ports: the published container port is the node's default metrics port; Prometheus
    // scrapes exactly that.
    let port = default_metrics_port();
    let ports: Vec<u16> = list_of(node.get("ports"))
        .iter()
        .map(|p| container_port(p))
        .collect();
    assert!(
        ports.contains(&port),
        "node ports {ports:?} must publish {port}"
    );
    assert_eq!(
        example["node"]["metricsAddr"].as_str(),
        Some(format!("0.0.0.0:{port}").as_str())
    );
    let prom: Yaml = serde_yaml_ng::from_str(&read("deploy/prometheus/prometheus.yml"))
        .expect("prometheus yaml");
    let targets: Vec<String> = prom["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .flat_map(|s| {
            s["static_configs"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|sc| list_of(sc.get("targets")))
        .collect();
    assert!(
        targets.contains(&format!("node:{port}")),
        "prometheus targets {targets:?}"
    );
    let prom_mounts: BTreeMap<String, String> =
        binds(service(&c, "prometheus")).into_iter().collect();
    assert_eq!(
        prom_mounts
            .get("./deploy/prometheus/prometheus.yml")
            .map(String::as_str),
        Some("/etc/prometheus/prometheus.yml")
    );

    // The command is a real subcommand; the user comes from what init-config writes.
    let cmd = list_of(node.get("command"));
    assert_subcommand(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
    let user = str_of(node.get("user").expect("node.user"));
    let init = read("scripts/init-config");
    for var in ["ALLORA_UID", "ALLORA_GID"] {
        assert!(user.contains(var), "node.user should use {var}");
        assert!(
            init.contains(&format!("{var}=")),
            "init-config must write {var}"
        );
    }
}

#[test]
fn grafana_is_provisioned_from_the_repository_with_node_metrics() {
    let c = compose();
    let grafana = service(&c, "grafana");
    let mounts: BTreeMap<String, String> = binds(grafana).into_iter().collect();
    assert_eq!(
        mounts
            .get("./deploy/grafana/provisioning")
            .map(String::as_str),
        Some("/etc/grafana/provisioning")
    );
    let dash_dir = mounts
        .get("./deploy/grafana/dashboards")
        .expect("dashboards mounted");
    let providers: Yaml = serde_yaml_ng::from_str(&read(
        "deploy/grafana/provisioning/dashboards/allora-node.yml",
    ))
    .expect("provider yaml");
    assert_eq!(
        providers["providers"][0]["options"]["path"].as_str(),
        Some(dash_dir.as_str())
    );
    let home = env_of(grafana)
        .get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
        .cloned()
        .expect("home dashboard");
    let home_file = home
        .strip_prefix(&format!("{dash_dir}/"))
        .expect("home under dashboards");
    assert!(
        repo()
            .join("deploy/grafana/dashboards")
            .join(home_file)
            .is_file()
    );

    let ds: Yaml = serde_yaml_ng::from_str(&read(
        "deploy/grafana/provisioning/datasources/prometheus.yml",
    ))
    .expect("datasource yaml");
    let ds = &ds["datasources"][0];
    let url = ds["url"].as_str().expect("datasource url");
    let prom = service(&c, "prometheus");
    let prom_port = list_of(prom.get("ports"))
        .iter()
        .map(|p| container_port(p))
        .next();
    assert_eq!(
        url,
        format!("http://prometheus:{}", prom_port.expect("prometheus port"))
    );
    let uid = ds["uid"].as_str().expect("datasource uid");

    let dash: Json = serde_json::from_str(&read("deploy/grafana/dashboards/allora-node.json"))
        .expect("dashboard JSON");
    let known = node_metric_names();
    let mut used = BTreeSet::new();
    let panels = dash["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    for p in panels {
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(
            p["datasource"]["uid"], uid,
            "panel {} datasource",
            p["title"]
        );
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            for name in metric_names_in(expr) {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| known.contains(*b)))
                    .map(str::to_string);
                assert!(
                    known.contains(&name) || base.is_some(),
                    "panel {}: metric {name} is not registered in node/allora-node/src/metrics.rs (known: {known:?})",
                    p["title"]
                );
                used.insert(base.unwrap_or(name));
            }
        }
    }
    // The issue's panels: submissions, adapter latency, errors, balance, window lag.
    let titles: Vec<String> = panels
        .iter()
        .filter_map(|p| p["title"].as_str().map(str::to_lowercase))
        .collect();
    for want in ["submission", "adapter", "error", "balance", "lag"] {
        assert!(
            titles.iter().any(|t| t.contains(want)),
            "no panel about {want}: {titles:?}"
        );
    }
    for seed in [
        "allora_worker_chain_submission_count",
        "allora_reputer_chain_submission_count",
    ] {
        assert!(used.contains(seed), "dashboard should chart {seed}");
    }
}

#[test]
fn compose_publishes_only_on_loopback_and_grafana_has_no_default_login() {
    let c = compose();
    let services = c
        .get("services")
        .and_then(Yaml::as_mapping)
        .expect("services");
    for (name, svc) in services {
        for p in list_of(svc.get("ports")) {
            assert!(
                p.starts_with("127.0.0.1:"),
                "service {}: port {p} is published on every interface; bind it to 127.0.0.1",
                str_of(name)
            );
        }
    }
    let env = env_of(service(&c, "grafana"));
    // Anonymous access off (and never as an admin), sign-up off.
    assert_eq!(
        env.get("GF_AUTH_ANONYMOUS_ENABLED").map(String::as_str),
        Some("false")
    );
    assert!(!env.contains_key("GF_AUTH_ANONYMOUS_ORG_ROLE"));
    assert_ne!(
        env.get("GF_AUTH_DISABLE_LOGIN_FORM").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        env.get("GF_USERS_ALLOW_SIGN_UP").map(String::as_str),
        Some("false")
    );
    // The admin password is required from the environment: `${VAR:?message}`, no default.
    let pw = env
        .get("GF_SECURITY_ADMIN_PASSWORD")
        .expect("GF_SECURITY_ADMIN_PASSWORD");
    assert!(
        pw.starts_with("${GRAFANA_ADMIN_PASSWORD:?") && pw.ends_with('}'),
        "Grafana's admin password must be required, without a default: {pw}"
    );
    assert!(!pw.contains(":-") && !pw.contains("admin}"));
    // scripts/init-config is what provides it.
    assert!(read("scripts/init-config").contains("GRAFANA_ADMIN_PASSWORD="));
}

/// The devnet override (used by scripts/test-docker): it wires the node to a devnet service
/// run from the same image, with the key from a file, and a config the node accepts.
#[test]
fn compose_devnet_override_wires_the_node_to_the_devnet_with_a_key_file() {
    let o: Yaml = serde_yaml_ng::from_str(&read("deploy/compose.devnet.yml")).expect("yaml");
    let base = compose();
    let devnet = service(&o, "devnet");
    assert_eq!(
        devnet.get("image").map(str_of),
        service(&base, "node").get("image").map(str_of),
        "the devnet runs the node's own image"
    );
    let cmd = list_of(devnet.get("command"));
    assert_eq!(cmd.first().map(String::as_str), Some("devnet"));
    assert_subcommand(&["devnet"]);
    let flag = |name: &str| -> String {
        cmd.iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("devnet --{name}"))
            .to_string()
    };
    let grpc_port = flag("grpc-addr").rsplit(':').next().unwrap().to_string();
    let rpc_port = flag("rpc-addr").rsplit(':').next().unwrap().to_string();

    let node = service(&o, "node");
    let mounts: BTreeMap<String, String> = binds(node).into_iter().collect();
    let cfg_host = mounts
        .iter()
        .find_map(|(h, t)| (t == "/app/config.json").then_some(h.clone()))
        .expect("config mount");
    let mut cfg: Json =
        serde_json::from_str(&read(cfg_host.trim_start_matches("./"))).expect("devnet config");
    let secret = list_of(node.get("secrets"));
    assert_eq!(secret.len(), 1, "one key file");
    let secret_file = str_of(&o["secrets"][secret[0].as_str()]["file"]);
    let mnemonic = read(secret_file.trim_start_matches("./"));
    assert!(
        allora_devnet::TEST_MNEMONICS.contains(&mnemonic.trim()),
        "the devnet key must be a public devnet test account"
    );
    let w = &cfg["wallet"];
    assert_eq!(
        w["mnemonicFile"].as_str(),
        Some(format!("/run/secrets/{}", secret[0]).as_str())
    );
    assert!(
        w["addressRestoreMnemonic"]
            .as_str()
            .is_none_or(str::is_empty)
    );
    assert_eq!(
        w["nodeGrpcs"][0].as_str(),
        Some(format!("http://devnet:{grpc_port}").as_str())
    );
    assert_eq!(
        w["nodeRpc"].as_str(),
        Some(format!("http://devnet:{rpc_port}").as_str())
    );
    assert_eq!(w["chainId"].as_str(), Some(allora_devnet::DEFAULT_CHAIN_ID));

    // The real loader accepts it (key file and adapters laid out as in the container).
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        repo().join("adapters-wasm"),
        dir.path().join("adapters-wasm"),
    )
    .expect("symlink");
    let key = dir.path().join("mnemonic");
    std::fs::write(&key, mnemonic).expect("key file");
    cfg["wallet"]["mnemonicFile"] = Json::String(key.to_string_lossy().into_owned());
    // The compose node service's $ALLORA_NODE_ADAPTERS_DIR, as node.adaptersDir.
    let adapters = env_of(service(&base, "node"))
        .get("ALLORA_NODE_ADAPTERS_DIR")
        .cloned()
        .expect("ALLORA_NODE_ADAPTERS_DIR");
    let rel = adapters.strip_prefix("/app/").expect("under /app");
    cfg["node"]["adaptersDir"] = Json::String(dir.path().join(rel).to_string_lossy().into_owned());
    allora_node::config::load_str(&cfg.to_string(), "compose devnet config", dir.path())
        .unwrap_or_else(|e| panic!("deploy/devnet/config.json does not load: {e}"));
}

fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    for ch in expr.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            cur.push(ch);
        } else {
            if cur.starts_with("allora_") {
                out.insert(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The example config and the example `source` service.

fn example_config() -> Json {
    serde_json::from_str(&read("config.example.json")).expect("config.example.json is JSON")
}

/// Every endpoint URL template in the example config (worker/reputer parameter maps).
fn example_endpoints(cfg: &Json) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    for (role, key) in [
        ("worker", "parameters"),
        ("reputer", "groundTruthParameters"),
    ] {
        for entry in cfg[role].as_array().expect("role list") {
            let params: BTreeMap<String, String> = entry[key]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            for (k, v) in &params {
                if k.ends_with("Endpoint") {
                    out.push((v.clone(), params.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn example_config_points_at_the_compose_source_service() {
    let cfg = example_config();
    let c = compose();
    let source = service(&c, "source");
    let ports: Vec<u16> = list_of(source.get("ports"))
        .iter()
        .map(|p| container_port(p))
        .collect();
    let endpoints = example_endpoints(&cfg);
    assert!(!endpoints.is_empty());
    for (url, _) in &endpoints {
        let rest = url
            .strip_prefix("http://source:")
            .expect("endpoint on the source service");
        let port: u16 = rest
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        assert!(
            ports.contains(&port),
            "{url}: source service does not publish {port}"
        );
    }
    let source_df = parse_dockerfile(&read("deploy/source/Dockerfile"));
    let exposed: Vec<String> = source_df
        .last()
        .expect("stage")
        .all("EXPOSE")
        .flat_map(|i| i.words())
        .collect();
    for p in ports {
        assert!(exposed.contains(&p.to_string()));
    }
    // Adapters the example references are the shipped ones, at the path the image uses.
    for role in ["worker", "reputer"] {
        for entry in cfg[role].as_array().expect("list") {
            for (k, v) in entry.as_object().expect("entry") {
                if k.ends_with("Adapter") {
                    let wasm = v["wasm"].as_str().expect("wasm path");
                    assert!(wasm.starts_with("adapters-wasm/dist/"), "{wasm}");
                    let hosts = list_json(&v["allowedHosts"]);
                    // The compose service is a private address: it needs the explicit opt-in.
                    assert!(
                        hosts.iter().all(|h| h.starts_with("private:source:")),
                        "{hosts:?}"
                    );
                }
            }
        }
    }
}

fn list_json(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts `deploy/source/app.py` on an ephemeral loopback port.
struct Source {
    child: std::process::Child,
    port: u16,
}

impl Source {
    fn start() -> Source {
        let mut child = Command::new("python3")
            .arg(repo().join("deploy/source/app.py"))
            .env("SOURCE_HOST", "127.0.0.1")
            .env("SOURCE_PORT", "0")
            .env("SOURCE_QUIET", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs the example source");
        let mut stderr = child.stderr.take().expect("stderr");
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while stderr.read(&mut b).expect("read stderr") == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("source did not report its port: {line}"));
        Source { child, port }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn example_source_serves_every_endpoint_the_example_config_uses() {
    let src = Source::start();
    for (template, params) in example_endpoints(&example_config()) {
        let mut url = template.clone();
        for (k, v) in &params {
            url = url.replace(&format!("{{{k}}}"), v);
        }
        url = url
            .replace("{BlockHeight}", "1234")
            .replace("{TopicId}", "1");
        assert!(!url.contains('{'), "unfilled placeholder in {url}");
        let path = url.strip_prefix("http://source:8000").expect("source url");
        let (status, body) = http_get(src.port, path);
        assert_eq!(status, 200, "{path}: {body}");
        if path.starts_with("/prices/") {
            let v: Json = serde_json::from_str(&body).expect("prices JSON");
            let prices = v["prices"].as_array().expect("prices list");
            assert!(
                !prices.is_empty()
                    && prices
                        .iter()
                        .all(|p| p.as_f64().is_some_and(f64::is_finite))
            );
        } else {
            let x: f64 = body
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{path}: {body:?}: {e}"));
            assert!(x.is_finite() && x > 0.0, "{path}: {x}");
        }
    }
    // Ground truth is a function of the height: the reputer and a re-run agree.
    let a = http_get(src.port, "/truth/ETH/77").1;
    let b = http_get(src.port, "/truth/ETH/77").1;
    assert_eq!(a, b);
    assert_ne!(a, http_get(src.port, "/truth/ETH/78").1);
    assert_eq!(http_get(src.port, "/nope").0, 404);
    assert_eq!(http_get(src.port, "/truth/ETH/notaheight").0, 400);
}

// ---------------------------------------------------------------------------------------------
// The container health probe, against a real loopback server.

fn serve_status_once(status: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        // Read the whole request head before answering, like a real HTTP server.
        let mut req = Vec::new();
        let mut buf = [0u8; 256];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        )
        .expect("write");
        String::from_utf8_lossy(&req).into_owned()
    });
    (port, h)
}

fn probe(addr: &str) -> std::process::Output {
    Command::new("bash")
        .arg(repo().join("deploy/healthcheck.sh"))
        .arg(addr)
        .arg("/health")
        .output()
        .expect("run healthcheck.sh")
}

#[test]
fn health_probe_passes_on_200_and_fails_otherwise() {
    let (port, h) = serve_status_once("200 OK");
    let out = probe(&format!("127.0.0.1:{port}"));
    let req = h.join().expect("server");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(req.starts_with("GET /health HTTP/1."), "{req}");

    let (port, h) = serve_status_once("503 Service Unavailable");
    let out = probe(&format!("127.0.0.1:{port}"));
    h.join().expect("server");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("503"));

    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("a")
        .port();
    assert!(!probe(&format!("127.0.0.1:{port}")).status.success());
}

// ---------------------------------------------------------------------------------------------
// The example config is accepted by the real node, laid out as in the image.

#[test]
fn example_config_validates_with_the_real_node() {
    let dist = repo().join("adapters-wasm/dist");
    assert!(
        dist.join("http_source.wasm").is_file(),
        "build the shipped adapters first: adapters-wasm/build.sh (./scripts/test does)"
    );
    // The image layout: the config next to adapters-wasm/dist and data/.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo().join("config.example.json"),
        dir.path().join("config.json"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(
        repo().join("adapters-wasm"),
        dir.path().join("adapters-wasm"),
    )
    .expect("symlink");
    let out = Command::new(BIN)
        .args(["config", "validate", "--config"])
        .arg(dir.path().join("config.json"))
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_JSON")
        .env_remove("ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH")
        .env_remove("ALLORA_OFFCHAIN_NODE_MNEMONIC")
        .env("ALLORA_NODE_ADAPTERS_DIR", &dist)
        .current_dir(dir.path())
        .output()
        .expect("run allora-node config validate");
    assert!(
        out.status.success(),
        "config.example.json must validate:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// scripts/init-config with the real binary's keystore.

fn init_config(config: &Path, env_file: &Path) -> (bool, String, String) {
    let out = Command::new("bash")
        .arg(repo().join("scripts/init-config"))
        .arg("--config")
        .arg(config)
        .arg("--env-file")
        .arg(env_file)
        .env("ALLORA_NODE_BIN", BIN)
        .env_remove("ALLORA_NODE_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/init-config");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn funded_address(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Address to fund: "))
        .unwrap_or_else(|| panic!("no address printed:\n{stdout}"))
        .trim()
        .to_string()
}

#[test]
fn init_config_creates_the_key_in_data_once_and_prints_the_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let env_file = dir.path().join(".env");
    // First run: no config yet — it is created from config.example.json, then the key.
    let (ok, stdout, stderr) = init_config(&config, &env_file);
    assert!(ok, "init-config failed:\n{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(&config).expect("config created"),
        read("config.example.json")
    );
    let address = funded_address(&stdout);
    assert!(
        address.starts_with("allo1") && address.len() == 43,
        "{address}"
    );
    let key_name = example_config()["wallet"]["addressKeyName"]
        .as_str()
        .expect("key name")
        .to_string();
    let key_file = dir
        .path()
        .join("data/.allora-node/keys")
        .join(format!("{key_name}.json"));
    assert!(key_file.is_file(), "{} missing", key_file.display());
    let env = std::fs::read_to_string(&env_file).expect(".env written");
    assert!(
        env.contains("ALLORA_UID=") && env.contains("ALLORA_GID="),
        "{env}"
    );
    // A random Grafana admin password (compose requires one), private to the user.
    let grafana_pw = |env: &str| -> String {
        env.lines()
            .find_map(|l| l.strip_prefix("GRAFANA_ADMIN_PASSWORD="))
            .unwrap_or_default()
            .to_string()
    };
    let pw = grafana_pw(&env);
    assert!(pw.len() >= 24 && pw != "admin", "weak or missing password");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env_file)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, ".env is readable by others: {mode:o}");
    }

    // The node itself resolves that keystore entry to the same address.
    let shown = Command::new(BIN)
        .args(["keys", "show", &key_name, "--home"])
        .arg(dir.path().join("data/.allora-node"))
        .output()
        .expect("keys show");
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&address));

    // Second run: the key is reused, not replaced.
    let (ok, stdout, stderr) = init_config(&config, &env_file);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("already exists"), "{stdout}");
    assert_eq!(funded_address(&stdout), address);
    let env2 = std::fs::read_to_string(&env_file).expect(".env");
    assert_eq!(grafana_pw(&env2), pw, "the Grafana password is kept");
}

#[test]
fn init_config_restores_the_configured_mnemonic_without_echoing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    // A public devnet test mnemonic.
    let mnemonic = allora_devnet::TEST_MNEMONICS[1];
    let mut cfg = example_config();
    cfg["wallet"]["addressRestoreMnemonic"] = Json::String(mnemonic.to_string());
    std::fs::write(&config, cfg.to_string()).expect("write config");
    let (ok, stdout, stderr) = init_config(&config, &dir.path().join(".env"));
    assert!(ok, "{stdout}\n{stderr}");
    let want = allora_chain_client::keys::Wallet::from_mnemonic(mnemonic)
        .expect("wallet")
        .address()
        .to_string();
    assert_eq!(funded_address(&stdout), want);
    let first_words: String = mnemonic
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!stdout.contains(&first_words) && !stderr.contains(&first_words));
}

// ---------------------------------------------------------------------------------------------
// README command (a): the demo runs the example config against the devnet to completion.

#[test]
fn demo_submits_and_the_devnet_accepts_worker_and_reputer_payloads() {
    let mut child = Command::new(BIN)
        .args(["demo", "--epochs", "1", "--block-time-ms", "500"])
        .current_dir(repo())
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start allora-node demo");
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("demo did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(
        status.success(),
        "demo failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("REJECTED"), "{stdout}");
    for topic in [1, 2] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("worker    topic {topic} nonce"))
                    && l.contains("accepted")),
            "no accepted worker payload for topic {topic}:\n{stdout}"
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("reputer   topic {topic} nonce"))
                    && l.contains("accepted")),
            "no accepted reputer payload for topic {topic}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("done: 1 epoch(s) submitted and accepted on every topic"),
        "{stdout}"
    );
    // The table is all the terminal shows: the logs (INFO here) went to the file it names.
    let log_path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("logs: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("the demo does not say where its logs are:\n{stdout}"));
    let logs = std::fs::read_to_string(log_path).expect("read the demo's log file");
    assert!(logs.contains(" INFO "), "no INFO lines in {log_path}");
    for out in [&stdout, &stderr] {
        assert!(
            !out.lines().any(|l| l.contains(" INFO ")),
            "log lines leaked to the terminal:\n{out}"
        );
    }
    let _ = std::fs::remove_file(log_path);
}
