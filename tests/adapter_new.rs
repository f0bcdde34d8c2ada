//! `allora-node adapter new` end to end, for every language: the real binary scaffolds a
//! project, the project's own `./build.sh` builds it with the toolchains `scripts/test setup`
//! installs (Rust + wasm32-wasip2, componentize-py in `.venv/`, componentize-js from the JS
//! example's `node_modules`, Go + wasm-tools in `.tools/`), then `adapter inspect` must list the
//! scaffolded roles and `adapter run` must return the example's values for each role, with the
//! example's HTTP calls answered by a loopback server. A missing tool fails the test with the
//! command that installs it; nothing is skipped.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_allora-node");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A loopback HTTP server for the examples: `/prices` is a JSON array whose mean is 2.625,
/// `/truth` is a ground truth of 3.5. Started once; serves until the test process exits.
fn server() -> &'static str {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr").to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let (status, body) = match request_line.split_whitespace().nth(1) {
                    Some("/prices") => ("200 OK", "[1, 2, 3, 4.5]"),
                    Some("/truth") => ("200 OK", "3.5\n"),
                    // One bad tick (5000) that a median ignores.
                    Some("/series") => (
                        "200 OK",
                        "[[1,100],[2,101],[3,5000],[4,102],[5,103],[6,104]]",
                    ),
                    _ => ("404 Not Found", "not found"),
                };
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        addr
    })
}

/// PATH with the project's tool directories first, as `scripts/test` arranges it.
fn tool_path() -> String {
    let r = repo();
    format!(
        "{}:{}:{}",
        r.join(".tools/bin").display(),
        r.join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .env("PATH", tool_path())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Fails (never skips) when a tool the language needs is missing.
fn require(tool: &str, install: &str) {
    assert!(
        on_path(tool),
        "{tool} not found on PATH, in .tools/bin or in .venv/bin: {install}"
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Serialises the calls: each component is compiled once into a shared cache, one compile at
/// a time like the node does (a compile uses every core, and parallel compiles of the Python
/// and JavaScript components on a loaded machine could exceed the node's compile budget).
static CALLS: Mutex<()> = Mutex::new(());

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("adapter-new-cache")
}

fn node(args: &[&str]) -> String {
    String::from_utf8(run(Command::new(BIN).args(args)).stdout).expect("utf-8 output")
}

/// Scaffolds `name` with `roles`, builds it with its `./build.sh`, checks `adapter inspect`,
/// and returns the component's path.
fn scaffold_and_build(
    tmp: &Path,
    name: &str,
    lang: &str,
    roles: &[&str],
    expect_roles: &[&str],
    prepare: impl FnOnce(&Path, &mut Command),
) -> PathBuf {
    let dir = tmp.join(name);
    let mut args = vec!["adapter", "new", name, "--lang", lang, "--dir"];
    let dir_str = dir.to_str().expect("utf-8 temp path").to_string();
    args.push(&dir_str);
    for r in roles {
        args.extend(["--role", r]);
    }
    let t = Instant::now();
    let printed = node(&args);
    assert!(printed.contains("./build.sh"), "{printed}");
    for f in ["build.sh", "README.md", "wit/worlds.wit", "wit/types.wit"] {
        assert!(dir.join(f).is_file(), "{lang}: scaffold has no {f}");
    }

    let mut build = Command::new(dir.join("build.sh"));
    build.current_dir(&dir).env("PATH", tool_path());
    prepare(&dir, &mut build);
    run(&mut build);
    let wasm = dir.join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        wasm.is_file(),
        "{lang}: build.sh did not produce {}",
        wasm.display()
    );
    eprintln!(
        "{lang}: scaffold + build {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let cache = cache_dir();
    let inspect = {
        let _one_at_a_time = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now();
        let out = node(&[
            "adapter",
            "inspect",
            wasm.to_str().expect("utf-8"),
            "--cache-dir",
            cache.to_str().expect("utf-8"),
        ]);
        eprintln!(
            "{lang}: adapter inspect (compiles) {:.1} s",
            t.elapsed().as_secs_f64()
        );
        out
    };
    let roles_line = inspect
        .lines()
        .find_map(|l| l.strip_prefix("roles: "))
        .unwrap_or_else(|| panic!("{lang}: no roles line in\n{inspect}"));
    let got: BTreeSet<&str> = roles_line.split(", ").collect();
    let want: BTreeSet<&str> = expect_roles.iter().copied().collect();
    assert_eq!(got, want, "{lang}: roles reported by adapter inspect");
    wasm
}

fn call(wasm: &Path, role: &str, extra: &[&str]) -> Vec<String> {
    let cache = cache_dir();
    let mut args = vec![
        "adapter",
        "run",
        wasm.to_str().expect("utf-8"),
        "--role",
        role,
        "--cache-dir",
        cache.to_str().expect("utf-8"),
    ];
    args.extend(extra);
    let _one_at_a_time = CALLS.lock().unwrap_or_else(|e| e.into_inner());
    let t = Instant::now();
    let out = node(&args);
    eprintln!(
        "{}: adapter run --role {role} {:.1} s",
        wasm.display(),
        t.elapsed().as_secs_f64()
    );
    // The first two lines are the load and call timings; the rest is the result.
    out.lines().skip(2).map(str::to_string).collect()
}

fn check_inference(wasm: &Path) {
    let url = format!("PriceEndpoint=http://{}/prices", server());
    let lines = call(
        wasm,
        "inference",
        &["--param", &url, "--allow-host", server()],
    );
    assert_eq!(lines, ["y\t2.625"], "mean of [1, 2, 3, 4.5]");
}

fn check_forecast(wasm: &Path) {
    let lines = call(
        wasm,
        "forecast",
        &["--inferer", "allo1aaa", "--inferer", "allo1bbb"],
    );
    assert_eq!(lines, ["allo1aaa\t0.1", "allo1bbb\t0.1"]);
    let lines = call(
        wasm,
        "forecast",
        &["--inferer", "allo1aaa", "--param", "ForecastLoss=0.25"],
    );
    assert_eq!(lines, ["allo1aaa\t0.25"]);
}

fn check_ground_truth(wasm: &Path) {
    let url = format!("GroundTruthEndpoint=http://{}/truth", server());
    let lines = call(
        wasm,
        "ground-truth",
        &["--param", &url, "--allow-host", server()],
    );
    assert_eq!(lines, ["3.5"]);
}

fn check_loss(wasm: &Path) {
    let lines = call(
        wasm,
        "loss",
        &[
            "--ground-truth",
            "3.5",
            "--prediction",
            "3",
            "--prediction",
            "4.5",
        ],
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "never-negative\ttrue");
    let loss_of = |line: &str| -> f64 {
        let field = line.split('\t').nth(1).expect("loss field");
        field
            .strip_prefix("loss ")
            .expect("loss prefix")
            .parse()
            .expect("number")
    };
    assert!(lines[1].starts_with("prediction 3\t"), "{lines:?}");
    assert_eq!(loss_of(&lines[1]), 0.5);
    assert!(lines[2].starts_with("prediction 4.5\t"), "{lines:?}");
    assert_eq!(loss_of(&lines[2]), 1.0);
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn rust_reputer_builds_and_runs() {
    require("cargo", "install Rust with rustup");
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .expect("rustup");
    assert!(
        String::from_utf8_lossy(&targets.stdout).contains("wasm32-wasip2"),
        "rustup target wasm32-wasip2 is not installed: ./scripts/test setup"
    );
    let tmp = tempdir();
    let wasm = scaffold_and_build(
        tmp.path(),
        "demo-rust",
        "rust",
        &["reputer"],
        &["ground-truth", "loss"],
        |_, build| {
            // Reuse the shipped adapters' compiled wit-bindgen (same profile) and their
            // downloaded crates: no registry traffic from a test.
            build
                .env("CARGO_TARGET_DIR", repo().join("adapters-wasm/target"))
                .env("CARGO_NET_OFFLINE", "true");
        },
    );
    check_ground_truth(&wasm);
    check_loss(&wasm);
}

#[test]
fn python_inference_and_loss_builds_and_runs() {
    require(
        "componentize-py",
        "./scripts/test setup (installs componentize-py into .venv/)",
    );
    let tmp = tempdir();
    let wasm = scaffold_and_build(
        tmp.path(),
        "demo-python",
        "python",
        &["inference", "loss"],
        &["inference", "loss"],
        |_, _| {},
    );
    // No shipped world has exactly these roles: the scaffold adds its own.
    assert!(tmp.path().join("demo-python/wit/scaffold.wit").is_file());
    check_inference(&wasm);
    check_loss(&wasm);
}

#[test]
fn js_worker_builds_and_runs() {
    require("npm", "install Node.js");
    let modules = repo().join("adapters-wasm/js-inference/node_modules");
    assert!(
        modules.join("@bytecodealliance/componentize-js").is_dir(),
        "componentize-js is not installed in {}: ./scripts/test setup",
        modules.display()
    );
    let tmp = tempdir();
    let wasm = scaffold_and_build(
        tmp.path(),
        "demo-js",
        "js",
        &["worker"],
        &["inference", "forecast"],
        |dir, _| {
            // The same pinned componentize-js as the shipped example, instead of a download.
            std::os::unix::fs::symlink(&modules, dir.join("node_modules")).expect("symlink");
        },
    );
    check_inference(&wasm);
    check_forecast(&wasm);
}

#[test]
fn go_all_roles_build_and_run() {
    require("go", "install Go 1.24 or newer");
    require(
        "wasm-tools",
        "./scripts/test setup (cargo install wasm-tools into .tools/bin)",
    );
    let tmp = tempdir();
    let wasm = scaffold_and_build(
        tmp.path(),
        "demo-go",
        "go",
        &["inference", "forecast", "ground-truth", "loss"],
        &["inference", "forecast", "ground-truth", "loss"],
        |_, _| {},
    );
    check_inference(&wasm);
    check_forecast(&wasm);
    check_ground_truth(&wasm);
    check_loss(&wasm);
}

/// The shipped Go example (adapters-wasm/go-inference, built by adapters-wasm/build.sh): the
/// median of the last `Window` prices of a `[[t, p], …]` series.
#[test]
fn shipped_go_inference_returns_the_median() {
    let wasm = repo().join("adapters-wasm/dist/go_inference.wasm");
    assert!(
        wasm.is_file(),
        "{} is missing: run adapters-wasm/build.sh (./scripts/test adapters)",
        wasm.display()
    );
    let url = format!("PriceEndpoint=http://{}/{{Token}}", server());
    let base = [
        "--param",
        &url,
        "--param",
        "Token=series",
        "--allow-host",
        server(),
    ];
    assert_eq!(
        call(&wasm, "inference", &base),
        ["y\t103"],
        "median of the last 5"
    );
    let mut windowed = base.to_vec();
    windowed.extend(["--param", "Window=2"]);
    assert_eq!(
        call(&wasm, "inference", &windowed),
        ["y\t103.5"],
        "median of the last 2"
    );
}

#[test]
fn refuses_bad_names_and_non_empty_directories() {
    let tmp = tempdir();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("model.py"), "mine").expect("write");
    let out = Command::new(BIN)
        .args(["adapter", "new", "taken", "--lang", "python", "--dir"])
        .arg(&dir)
        .output()
        .expect("spawn");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.join("model.py")).expect("read"),
        "mine"
    );

    let out = Command::new(BIN)
        .args(["adapter", "new", "../Escape", "--lang", "go"])
        .current_dir(tmp.path())
        .output()
        .expect("spawn");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid adapter name"));
}
