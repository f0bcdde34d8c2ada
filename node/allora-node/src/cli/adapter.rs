//! `allora-node adapter run|inspect|new`: try an adapter component outside the node — one call
//! in the same sandbox the node uses, with its result and timing — list what it exports, or
//! scaffold a new adapter project (`new`, in `adapter/new.rs` with its `templates/`).

pub mod new;
pub mod templates;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use allora_sandbox::netpolicy::Allowlist;
use allora_sandbox::{
    AdapterRuntime, AdapterSpec, CallContext, Compiler, Limits, Mount, Role, RuntimeConfig,
};

/// Arguments of `allora-node adapter`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `adapter` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run one call of an adapter and print the result and its timing.
    Run(Box<RunArgs>),
    /// Print the WIT package version and the roles a component exports.
    Inspect(InspectArgs),
    /// Create a buildable adapter project (Rust, Python, JavaScript or Go) for chosen roles.
    New(new::NewArgs),
}

/// Arguments of `adapter run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The component (.wasm).
    pub wasm: PathBuf,
    /// Role to call: inference, forecast, ground-truth or loss.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Topic id passed to the adapter.
    #[arg(long, default_value_t = 1)]
    pub topic: u64,
    /// Nonce (block height) passed to the adapter.
    #[arg(long, default_value_t = 1)]
    pub nonce: i64,
    /// A topic parameter, KEY=VALUE (repeatable), e.g. --param Token=ETH.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// An allowedHosts entry (repeatable), e.g. --allow-host 127.0.0.1:8000.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,
    /// Inferer address for the forecast role (repeatable).
    #[arg(long = "inferer")]
    pub inferers: Vec<String>,
    /// Ground truth for the loss role.
    #[arg(long)]
    pub ground_truth: Option<String>,
    /// Prediction to score for the loss role (repeatable).
    #[arg(long = "prediction")]
    pub predictions: Vec<String>,
    /// Call timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Memory limit in MiB.
    #[arg(long, default_value_t = 128)]
    pub memory_mb: u64,
    /// A host directory the adapter may read, HOST:GUEST (repeatable), e.g.
    /// --mount ./models/eth:/model. Read-only; the guest path must be absolute.
    #[arg(long = "mount", value_parser = parse_mount)]
    pub mounts: Vec<Mount>,
    /// Compiled-component cache directory (default: none, always compile).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// Arguments of `adapter inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The component (.wasm).
    pub wasm: PathBuf,
    /// Compiled-component cache directory (default: none, always compile).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// `HOST:GUEST`, split at the last `:` (the guest path is absolute and has none).
fn parse_mount(s: &str) -> Result<Mount, String> {
    match s.rsplit_once(':') {
        Some((host, guest)) if !host.is_empty() && guest.starts_with('/') => {
            Ok(Mount::new(host, guest))
        }
        _ => Err(format!(
            "expected HOST:GUEST with an absolute guest path, e.g. ./models/eth:/model; got {s:?}"
        )),
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    match args.command {
        Command::Run(a) => run_once(*a).await,
        Command::Inspect(a) => inspect(a).await,
        Command::New(a) => new::run(a),
    }
}

fn adapter_name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "adapter".into())
}

async fn run_once(a: RunArgs) -> anyhow::Result<i32> {
    let rt = AdapterRuntime::new(RuntimeConfig {
        cache_dir: a.cache_dir.clone(),
        compiler: Compiler::current_exe(),
        ..RuntimeConfig::default()
    })?;
    let limits = Limits {
        timeout: Duration::from_millis(a.timeout_ms),
        memory_bytes: a.memory_mb << 20,
        ..Limits::default()
    };
    let spec = AdapterSpec {
        name: adapter_name(&a.wasm),
        wasm: a.wasm.clone(),
        roles: vec![a.role],
        limits,
        allowed_hosts: Allowlist::parse(&a.allow_hosts).map_err(anyhow::Error::msg)?,
        mounts: a.mounts.clone(),
    };
    let started = Instant::now();
    let adapter = rt.load(spec).await?;
    let load_time = started.elapsed();
    let info = adapter.load_info();
    let ctx = CallContext {
        topic_id: a.topic,
        nonce: a.nonce,
        params: a.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        deadline: None,
    };
    let started = Instant::now();
    let outcome: anyhow::Result<Vec<String>> = match a.role {
        Role::Inference => adapter
            .infer(&ctx)
            .await
            .map(|v| {
                v.into_iter()
                    .map(|l| format!("{}\t{}", l.label, l.value))
                    .collect()
            })
            .map_err(Into::into),
        Role::Forecast => adapter
            .forecast(&ctx, &a.inferers)
            .await
            .map(|v| {
                v.into_iter()
                    .map(|f| format!("{}\t{}", f.inferer, f.value))
                    .collect()
            })
            .map_err(Into::into),
        Role::GroundTruth => adapter
            .ground_truth(&ctx)
            .await
            .map(|v| vec![v])
            .map_err(Into::into),
        Role::Loss => loss(&adapter, &ctx, &a).await,
    };
    let call_time = started.elapsed();
    println!(
        "adapter: {} ({:?} in {:.1} ms; load total {:.1} ms)",
        a.wasm.display(),
        info.source,
        info.compile_time.as_secs_f64() * 1e3,
        load_time.as_secs_f64() * 1e3
    );
    println!(
        "call:    {} topic={} nonce={} in {:.3} ms",
        a.role,
        a.topic,
        a.nonce,
        call_time.as_secs_f64() * 1e3
    );
    match outcome {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(1)
        }
    }
}

async fn loss(
    adapter: &allora_sandbox::Adapter,
    ctx: &CallContext,
    a: &RunArgs,
) -> anyhow::Result<Vec<String>> {
    let Some(gt) = &a.ground_truth else {
        bail!("the loss role needs --ground-truth and at least one --prediction");
    };
    if a.predictions.is_empty() {
        bail!("the loss role needs at least one --prediction");
    }
    let losses = adapter.loss(ctx, gt, &a.predictions).await?;
    let never_negative = adapter.loss_never_negative(ctx).await?;
    let mut out = vec![format!("never-negative\t{never_negative}")];
    for (p, l) in a.predictions.iter().zip(&losses) {
        let raw: f64 = l.parse().context("loss is not a number")?;
        let submitted = allora_protocol::loss::to_submitted(raw, never_negative)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("error: {e}"));
        out.push(format!("prediction {p}\tloss {l}\tsubmitted {submitted}"));
    }
    Ok(out)
}

async fn inspect(a: InspectArgs) -> anyhow::Result<i32> {
    let rt = AdapterRuntime::new(RuntimeConfig {
        cache_dir: a.cache_dir.clone(),
        compiler: Compiler::current_exe(),
        ..RuntimeConfig::default()
    })?;
    let i = rt.inspect(&adapter_name(&a.wasm), &a.wasm).await?;
    let versions: std::collections::BTreeSet<&str> = i
        .exports
        .iter()
        .chain(&i.imports)
        .filter(|n| n.starts_with("allora:adapter/"))
        .filter_map(|n| n.rsplit_once('@').map(|(_, v)| v))
        .collect();
    println!("component: {}", a.wasm.display());
    println!(
        "wit package: allora:adapter@{}",
        if versions.is_empty() {
            "(none)".to_string()
        } else {
            versions.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    println!(
        "roles: {}",
        if i.roles.is_empty() {
            "(none this node can call)".to_string()
        } else {
            i.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!("exports:");
    for e in &i.exports {
        println!("  {e}");
    }
    println!("imports:");
    for e in &i.imports {
        println!("  {e}");
    }
    Ok(0)
}
