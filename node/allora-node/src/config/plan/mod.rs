//! The validated plan: what the node will actually run. `validate` walks the whole raw
//! config and collects every problem (never stopping at the first), each naming the JSON
//! path and the fix. Go entrypoint names (`api-worker-reputer`) are mapped here onto the
//! shipped `http_source.wasm` adapter and built-in losses, so the actors only ever see
//! adapters and typed policies.
//!
//! By concern: [`wallet`] (key, endpoints, fee and retry policy), [`adapters`] (wasm, limits,
//! allowlists), [`topics`] (worker and reputer entries, loss policy), [`policy`] (the typed
//! policies and their parsers), and the `node` section below.

pub mod adapters;
pub mod policy;
mod roles;
pub mod topics;
pub mod wallet;
pub mod wallets;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::defaults as d;
use super::raw::RawConfig;
use super::{ConfigIssue, ENV_MNEMONIC};

pub use adapters::{AdapterPlan, default_limits};
pub use policy::{
    BatchPolicy, FeePlan, GasLimit, GasPrice, HostAllowlist, LossOptions, LossPlan, RestartPolicy,
    RetryPolicy,
};
pub use topics::{ReputerPlan, WorkerPlan};
pub use wallet::{KeySource, WalletPlan};
pub use wallets::{DEFAULT_WALLET, SignerPlan};

/// The Go node's only entrypoint; we serve it with the shipped `http-source` adapter.
pub const GO_ENTRYPOINT: &str = "api-worker-reputer";
/// File name of the shipped http-source adapter inside the adapters directory.
pub const HTTP_SOURCE_WASM: &str = "http_source.wasm";
/// Env var naming the directory with shipped adapters.
pub const ENV_ADAPTERS_DIR: &str = "ALLORA_NODE_ADAPTERS_DIR";

/// Everything the node runs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The `wallet` block: the default key plus the chain, gas, fee and retry settings every
    /// wallet shares.
    pub wallet: WalletPlan,
    /// Every signing key, the default wallet first; one tx actor runs per entry.
    pub wallets: Vec<SignerPlan>,
    pub workers: Vec<WorkerPlan>,
    pub reputers: Vec<ReputerPlan>,
    pub node: NodePlan,
    /// Non-fatal notes (ignored Go-only fields and the like), shown by `config validate`.
    pub warnings: Vec<String>,
}

/// The `node` section plus the process-level policies derived from it.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub metrics_addr: SocketAddr,
    pub cache_dir: Option<PathBuf>,
    /// Where the submission ledger lives (`cacheDir`, else `<alloraHomeDir>/allora-node`).
    pub ledger_dir: PathBuf,
    pub shutdown_timeout: Duration,
    /// Resubscribe the event websocket after this many expected block times without a block
    /// heartbeat (`node.eventWatchdogBlocks`).
    pub event_watchdog_blocks: u32,
    /// `node.safetyPollSeconds`: the longest an actor goes without polling while the event
    /// stream is healthy (it does not tick-poll at `loopSeconds` then).
    pub safety_poll: Duration,
    /// Restart backoff of dead actors and tx actors.
    pub restart: RestartPolicy,
    /// `node.compileMemoryMb` in bytes: address-space limit of one compile process.
    pub compile_memory_bytes: u64,
    /// `node.compileTimeoutSecs`: wall-clock budget of one adapter compile.
    pub compile_timeout: Duration,
    /// `node.adapterInstances`: adapter instances alive at once; calls beyond it queue.
    pub adapter_instances: u32,
}

/// The process-level inputs validation depends on, injectable for tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub mnemonic: Option<String>,
    pub adapters_dir: Option<PathBuf>,
    pub exe_dir: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            mnemonic: std::env::var(ENV_MNEMONIC)
                .ok()
                .filter(|s| !s.trim().is_empty()),
            adapters_dir: std::env::var_os(ENV_ADAPTERS_DIR).map(PathBuf::from),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            cwd: std::env::current_dir().ok(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

/// Validation state: where paths resolve, and what was found wrong so far.
struct Ctx<'a> {
    base: &'a Path,
    env: &'a Env,
    adapters_dir: Option<PathBuf>,
    issues: Vec<ConfigIssue>,
    warnings: Vec<String>,
}

impl Ctx<'_> {
    fn err(&mut self, path: impl Into<String>, msg: impl Into<String>, fix: impl Into<String>) {
        self.issues.push(ConfigIssue::new(path, msg, fix));
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }
}

/// Validates the raw config into a [`Plan`], or returns every problem found.
pub fn validate(raw: &RawConfig, base_dir: &Path, env: &Env) -> Result<Plan, Vec<ConfigIssue>> {
    let mut cx = Ctx {
        base: base_dir,
        env,
        adapters_dir: None,
        issues: Vec::new(),
        warnings: Vec::new(),
    };
    cx.adapters_dir = find_adapters_dir(raw, &cx);
    let wallet = wallet::wallet(&raw.wallet, &mut cx);
    let wallets = wallets::signers(raw, wallet.as_ref(), &mut cx);
    let workers = topics::workers(&raw.worker, &mut cx);
    let reputers = topics::reputers(&raw.reputer, &mut cx);
    let node = node(raw, wallet.as_ref().map(|w| w.home_dir.as_path()), &mut cx);
    if raw.worker.is_empty() && raw.reputer.is_empty() {
        cx.err(
            "worker",
            "no worker or reputer entries: the node would do nothing",
            "add at least one entry to \"worker\" or \"reputer\"",
        );
    }
    if !cx.issues.is_empty() {
        return Err(cx.issues);
    }
    match (wallet, node) {
        (Some(wallet), Some(node)) => Ok(Plan {
            wallet,
            wallets,
            workers,
            reputers,
            node,
            warnings: cx.warnings,
        }),
        // Both return None only after recording an issue, so this arm is unreachable in
        // practice; keep it total rather than panic.
        _ => Err(vec![ConfigIssue::new(
            "$",
            "internal validation error",
            "report this bug",
        )]),
    }
}

fn find_adapters_dir(raw: &RawConfig, cx: &Ctx<'_>) -> Option<PathBuf> {
    if let Some(dir) = raw.node.adapters_dir.as_deref() {
        return Some(cx.resolve(dir));
    }
    if let Some(dir) = &cx.env.adapters_dir {
        return Some(dir.clone());
    }
    let mut candidates = Vec::new();
    if let Some(exe) = &cx.env.exe_dir {
        candidates.push(exe.join("adapters"));
    }
    if let Some(cwd) = &cx.env.cwd {
        candidates.push(cwd.join("adapters-wasm/dist"));
        candidates.push(cwd.join("adapters"));
    }
    candidates.push(cx.base.join("adapters"));
    candidates
        .into_iter()
        .find(|d| d.join(HTTP_SOURCE_WASM).is_file())
}

fn node(raw: &RawConfig, home_dir: Option<&Path>, cx: &mut Ctx<'_>) -> Option<NodePlan> {
    let n = &raw.node;
    let metrics_addr = match n.metrics_addr.as_deref() {
        None | Some("") => SocketAddr::from(d::METRICS_ADDR),
        Some(s) => {
            // Go operators write ":2112"; accept it as all interfaces.
            let full = if s.starts_with(':') {
                format!("0.0.0.0{s}")
            } else {
                s.to_string()
            };
            match full.parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => {
                    cx.err(
                        "node.metricsAddr",
                        format!("'{s}' is not an ip:port address"),
                        "use e.g. \"0.0.0.0:2112\" or \"127.0.0.1:9100\"",
                    );
                    return None;
                }
            }
        }
    };
    let shutdown_timeout = match n.shutdown_timeout_secs {
        None => Duration::from_secs(d::SHUTDOWN_TIMEOUT_SECS),
        Some(s) if d::SHUTDOWN_TIMEOUT_RANGE.contains(&s) => Duration::from_secs(s as u64),
        Some(s) => {
            cx.err(
                "node.shutdownTimeoutSecs",
                format!("{s} is outside 1–600"),
                format!(
                    "use a bound in seconds such as {}",
                    d::SHUTDOWN_TIMEOUT_SECS
                ),
            );
            Duration::from_secs(d::SHUTDOWN_TIMEOUT_SECS)
        }
    };
    let compile_memory_mb = match n.compile_memory_mb {
        None => d::COMPILE_MEMORY_MB,
        Some(m) if d::COMPILE_MEMORY_MB_RANGE.contains(&m) => m as u64,
        Some(m) => {
            cx.err(
                "node.compileMemoryMb",
                format!("{m} is outside 256–65536"),
                format!(
                    "use the address space one adapter compile may use, in MiB, such as {}",
                    d::COMPILE_MEMORY_MB
                ),
            );
            d::COMPILE_MEMORY_MB
        }
    };
    let compile_timeout = match n.compile_timeout_secs {
        None => Duration::from_secs(d::COMPILE_TIMEOUT_SECS),
        Some(s) if d::COMPILE_TIMEOUT_RANGE.contains(&s) => Duration::from_secs(s as u64),
        Some(s) => {
            cx.err(
                "node.compileTimeoutSecs",
                format!("{s} is outside 1–3600"),
                format!(
                    "use a compile budget in seconds such as {}",
                    d::COMPILE_TIMEOUT_SECS
                ),
            );
            Duration::from_secs(d::COMPILE_TIMEOUT_SECS)
        }
    };
    let event_watchdog_blocks = match n.event_watchdog_blocks {
        None => d::EVENT_WATCHDOG_BLOCKS,
        Some(k) if d::EVENT_WATCHDOG_BLOCKS_RANGE.contains(&k) => k as u32,
        Some(k) => {
            cx.err(
                "node.eventWatchdogBlocks",
                format!("{k} is outside 2–1000"),
                format!(
                    "use a number of block times such as {}",
                    d::EVENT_WATCHDOG_BLOCKS
                ),
            );
            d::EVENT_WATCHDOG_BLOCKS
        }
    };
    let safety_poll = match n.safety_poll_seconds {
        None => Duration::from_secs(d::SAFETY_POLL_SECS),
        Some(s) if d::SAFETY_POLL_RANGE.contains(&s) => Duration::from_secs(s as u64),
        Some(s) => {
            cx.err(
                "node.safetyPollSeconds",
                format!("{s} is outside 1–86400"),
                format!("use a number of seconds such as {}", d::SAFETY_POLL_SECS),
            );
            Duration::from_secs(d::SAFETY_POLL_SECS)
        }
    };
    let adapter_instances = match n.adapter_instances {
        None => d::ADAPTER_INSTANCES,
        Some(k) if d::ADAPTER_INSTANCES_RANGE.contains(&k) => k as u32,
        Some(k) => {
            cx.err(
                "node.adapterInstances",
                format!("{k} is outside 1–10000"),
                format!(
                    "use the number of adapter calls that may run at once, such as {}",
                    d::ADAPTER_INSTANCES
                ),
            );
            d::ADAPTER_INSTANCES
        }
    };
    let cache_dir = n.cache_dir.as_deref().map(|dir| cx.resolve(dir));
    let ledger_dir = cache_dir.clone().unwrap_or_else(|| {
        home_dir
            .unwrap_or_else(|| Path::new("."))
            .join(d::LEDGER_SUBDIR)
    });
    Some(NodePlan {
        metrics_addr,
        cache_dir,
        ledger_dir,
        shutdown_timeout,
        event_watchdog_blocks,
        safety_poll,
        restart: RestartPolicy::default(),
        compile_memory_bytes: compile_memory_mb << 20,
        compile_timeout,
        adapter_instances,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wallets_tests;
