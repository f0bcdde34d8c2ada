//! The validated plan: what the node will actually run. `validate` walks the whole raw
//! config and collects every problem (never stopping at the first), each naming the JSON
//! path and the fix. Go entrypoint names (`api-worker-reputer`) are mapped here onto the
//! shipped `http_source.wasm` adapter and built-in losses, so the actors only ever see
//! adapters and loss plans.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawAdapter, RawConfig, RawReputer, RawWallet, RawWorker};
use super::{ConfigIssue, ENV_MNEMONIC};

/// The Go node's only entrypoint; we serve it with the shipped `http-source` adapter.
pub const GO_ENTRYPOINT: &str = "api-worker-reputer";
/// File name of the shipped http-source adapter inside the adapters directory.
pub const HTTP_SOURCE_WASM: &str = "http_source.wasm";
/// Env var naming the directory with shipped adapters.
pub const ENV_ADAPTERS_DIR: &str = "ALLORA_NODE_ADAPTERS_DIR";

const DEFAULT_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_MEMORY_MB: u64 = 64;
const MAX_MEMORY_MB: u64 = 4096;
const DEFAULT_MAX_HTTP_REQUESTS: u32 = 8;
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// Everything the node runs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub wallet: WalletPlan,
    pub workers: Vec<WorkerPlan>,
    pub reputers: Vec<ReputerPlan>,
    pub node: NodePlan,
    /// Non-fatal notes (ignored Go-only fields and the like), shown by `config validate`.
    pub warnings: Vec<String>,
}

/// Where the signing key comes from. The mnemonic itself is never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    Mnemonic(String),
    MnemonicFile(PathBuf),
    Keystore { name: String, home: PathBuf },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Mnemonic(_) => f.write_str("Mnemonic(<redacted>)"),
            KeySource::MnemonicFile(p) => write!(f, "MnemonicFile({})", p.display()),
            KeySource::Keystore { name, home } => {
                write!(f, "Keystore {{ name: {name}, home: {} }}", home.display())
            }
        }
    }
}

impl KeySource {
    /// Short description for summaries and logs.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Mnemonic(_) => "mnemonic (config or env)".into(),
            KeySource::MnemonicFile(p) => format!("mnemonic file {}", p.display()),
            KeySource::Keystore { name, home } => {
                format!("keystore entry '{name}' under {}", home.display())
            }
        }
    }
}

/// Gas limit policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GasLimit {
    Auto,
    Fixed(u64),
}

/// Gas price policy (uallo per gas unit).
#[derive(Debug, Clone, PartialEq)]
pub enum GasPrice {
    Auto,
    Fixed(f64),
}

#[derive(Debug, Clone)]
pub struct WalletPlan {
    pub key: KeySource,
    pub key_name: Option<String>,
    pub home_dir: PathBuf,
    pub gas: GasLimit,
    pub gas_adjustment: f64,
    pub gas_prices: GasPrice,
    /// Cap on the fee of one tx, in uallo.
    pub max_fees: u128,
    pub rpc_urls: Vec<String>,
    pub grpc_urls: Vec<String>,
    pub max_retries: u32,
    pub retry_delay: Duration,
    pub account_sequence_retry_delay: Duration,
    pub submit_tx: bool,
    pub chain_id: Option<String>,
}

/// A wasm adapter as the runtime should load it, plus the call parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterPlan {
    /// Name for logs and metrics (file stem, e.g. `http_source`).
    pub name: String,
    pub wasm: PathBuf,
    pub allowed_hosts: Vec<String>,
    pub timeout: Duration,
    pub memory_bytes: u64,
    pub max_http_requests: u32,
    pub max_response_bytes: u64,
    /// The `parameters` map passed on every call (`CallContext::params`).
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub topic_id: u64,
    pub loop_interval: Duration,
    pub inference: AdapterPlan,
    pub forecast: Option<AdapterPlan>,
}

/// How a reputer computes losses.
#[derive(Debug, Clone, PartialEq)]
pub enum LossPlan {
    /// A built-in method by name (validated against `allora_protocol::loss`), with its options.
    Builtin {
        method: String,
        options: BTreeMap<String, String>,
    },
    /// Use the topic's on-chain `loss_method` (resolved at startup).
    FromTopic { options: BTreeMap<String, String> },
    /// A loss adapter (batched calls).
    Adapter(AdapterPlan),
}

#[derive(Debug, Clone)]
pub struct ReputerPlan {
    pub topic_id: u64,
    pub loop_interval: Duration,
    /// Self-stake target in uallo (0 disables top-ups).
    pub min_stake: u128,
    pub ground_truth: AdapterPlan,
    pub loss: LossPlan,
}

#[derive(Debug, Clone)]
pub struct NodePlan {
    pub metrics_addr: SocketAddr,
    pub cache_dir: Option<PathBuf>,
    pub shutdown_timeout: Duration,
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
    let wallet = wallet(&raw.wallet, &mut cx);
    let workers = workers(&raw.worker, &mut cx);
    let reputers = reputers(&raw.reputer, &mut cx);
    let node = node(raw, &mut cx);
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

fn url_ok(s: &str, schemes: &[&str]) -> bool {
    url::Url::parse(s)
        .map(|u| schemes.contains(&u.scheme()) && u.host_str().is_some())
        .unwrap_or(false)
}

fn wallet(w: &RawWallet, cx: &mut Ctx<'_>) -> Option<WalletPlan> {
    let home_dir = match w.allora_home_dir.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => cx.resolve(d),
        None => cx
            .env
            .home
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".allora-node"),
    };
    let key_name = w.address_key_name.clone().filter(|s| !s.is_empty());
    let key = if let Some(m) = w
        .address_restore_mnemonic
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        let words = m.split_whitespace().count();
        if ![12, 15, 18, 21, 24].contains(&words) {
            cx.err(
                "wallet.addressRestoreMnemonic",
                format!("a BIP-39 mnemonic has 12–24 words, this one has {words}"),
                "paste the full mnemonic phrase, words separated by spaces",
            );
        }
        Some(KeySource::Mnemonic(m.trim().to_string()))
    } else if let Some(f) = w.mnemonic_file.as_deref().filter(|s| !s.is_empty()) {
        let path = cx.resolve(f);
        if !path.is_file() {
            cx.err(
                "wallet.mnemonicFile",
                format!("file {} does not exist", path.display()),
                "create the file with the mnemonic, or point mnemonicFile at it",
            );
        }
        Some(KeySource::MnemonicFile(path))
    } else if let Some(m) = cx.env.mnemonic.clone() {
        Some(KeySource::Mnemonic(m.trim().to_string()))
    } else if let Some(name) = key_name.clone() {
        Some(KeySource::Keystore {
            name,
            home: home_dir.clone(),
        })
    } else {
        cx.err(
            "wallet.addressKeyName",
            "no signing key configured",
            format!(
                "set wallet.addressKeyName to a key from `allora-node keys add`, or \
                 wallet.addressRestoreMnemonic, wallet.mnemonicFile, or ${ENV_MNEMONIC}"
            ),
        );
        None
    };

    let gas = match &w.gas {
        None => GasLimit::Auto,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("auto") || s.is_empty() => {
            GasLimit::Auto
        }
        Some(serde_json::Value::String(s)) => match s.parse::<u64>() {
            Ok(n) if n > 0 => GasLimit::Fixed(n),
            _ => {
                cx.err(
                    "wallet.gas",
                    format!("'{s}' is not \"auto\" or a gas limit"),
                    "use \"auto\" or a positive integer such as 300000",
                );
                GasLimit::Auto
            }
        },
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(n) if n > 0 => GasLimit::Fixed(n),
            _ => {
                cx.err(
                    "wallet.gas",
                    format!("{n} is not a positive integer gas limit"),
                    "use \"auto\" or a positive integer such as 300000",
                );
                GasLimit::Auto
            }
        },
        Some(other) => {
            cx.err(
                "wallet.gas",
                format!("{other} is not \"auto\" or a gas limit"),
                "use \"auto\" or a positive integer such as 300000",
            );
            GasLimit::Auto
        }
    };
    let gas_adjustment = w.gas_adjustment.unwrap_or(1.5);
    if !(gas_adjustment.is_finite() && (1.0..=10.0).contains(&gas_adjustment)) {
        cx.err(
            "wallet.gasAdjustment",
            format!("{gas_adjustment} is outside 1.0–10.0"),
            "use a multiplier such as 1.5",
        );
    }
    let gas_prices = match &w.gas_prices {
        None => GasPrice::Auto,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("auto") || s.is_empty() => {
            GasPrice::Auto
        }
        Some(v) => {
            let text = match v {
                serde_json::Value::String(s) => s.trim_end_matches("uallo").to_string(),
                other => other.to_string(),
            };
            match text.parse::<f64>() {
                Ok(p) if p.is_finite() && p >= 0.0 => GasPrice::Fixed(p),
                _ => {
                    cx.err(
                        "wallet.gasPrices",
                        format!("{v} is not \"auto\" or a price"),
                        "use \"auto\" (fee market) or a price in uallo per gas, e.g. \"10\"",
                    );
                    GasPrice::Auto
                }
            }
        }
    };
    let max_fees = match &w.max_fees {
        None => 5_000_000_000_000_000u128,
        Some(v) => {
            let text = match v {
                serde_json::Value::String(s) => s.trim_end_matches("uallo").to_string(),
                other => other.to_string(),
            };
            match text.parse::<u128>() {
                Ok(n) if n > 0 => n,
                _ => {
                    cx.err(
                        "wallet.maxFees",
                        format!("{v} is not a positive amount of uallo"),
                        "use an integer amount of uallo, e.g. 5000000",
                    );
                    0
                }
            }
        }
    };

    let mut rpc_urls: Vec<String> = Vec::new();
    if let Some(u) = w.node_rpc.as_deref().filter(|s| !s.is_empty()) {
        rpc_urls.push(u.to_string());
    }
    for u in w.node_rpcs.iter().flatten() {
        if !rpc_urls.contains(u) {
            rpc_urls.push(u.clone());
        }
    }
    for (i, u) in rpc_urls.iter().enumerate() {
        if !url_ok(u, &["http", "https", "ws", "wss", "tcp"]) {
            let path = if i == 0 && w.node_rpc.as_deref() == Some(u.as_str()) {
                "wallet.nodeRpc".to_string()
            } else {
                format!(
                    "wallet.nodeRpcs[{}]",
                    i.saturating_sub(usize::from(w.node_rpc.is_some()))
                )
            };
            cx.err(
                path,
                format!("'{u}' is not a CometBFT RPC URL"),
                "use a URL like http://127.0.0.1:26657",
            );
        }
    }
    let grpc_urls: Vec<String> = w.node_grpcs.clone().unwrap_or_default();
    for (i, u) in grpc_urls.iter().enumerate() {
        if !url_ok(
            u,
            &["http", "https", "grpc", "grpcs", "grpc+http", "grpc+https"],
        ) {
            cx.err(
                format!("wallet.nodeGrpcs[{i}]"),
                format!("'{u}' is not a gRPC URL"),
                "use a URL like http://127.0.0.1:9090",
            );
        }
    }
    if grpc_urls.is_empty() && rpc_urls.is_empty() {
        cx.err(
            "wallet.nodeGrpcs",
            "no chain endpoint configured",
            "set wallet.nodeGrpcs (e.g. [\"http://127.0.0.1:9090\"]) and wallet.nodeRpc",
        );
    } else if grpc_urls.is_empty() {
        cx.warnings.push(
            "wallet.nodeGrpcs is empty: queries go over CometBFT RPC only; add gRPC endpoints for failover"
                .into(),
        );
    } else if rpc_urls.is_empty() {
        cx.warnings.push(
            "wallet.nodeRpc is empty: no websocket window events, polling every loopSeconds only"
                .into(),
        );
    }
    let nonneg = |cx: &mut Ctx<'_>, v: Option<i64>, field: &str, default: i64, max: i64| -> i64 {
        match v {
            None => default,
            Some(n) if (0..=max).contains(&n) => n,
            Some(n) => {
                cx.err(
                    format!("wallet.{field}"),
                    format!("{n} is outside 0–{max}"),
                    format!("use a value between 0 and {max} (default {default})"),
                );
                default
            }
        }
    };
    let max_retries = nonneg(cx, w.max_retries, "maxRetries", 5, 100) as u32;
    let retry_delay = Duration::from_secs(nonneg(cx, w.retry_delay, "retryDelay", 3, 3600) as u64);
    let seq_delay = Duration::from_secs(nonneg(
        cx,
        w.account_sequence_retry_delay,
        "accountSequenceRetryDelay",
        5,
        3600,
    ) as u64);
    let chain_id = w.chain_id.clone().filter(|s| !s.is_empty());
    if w.chain_id.as_deref() == Some("") {
        cx.warnings
            .push("wallet.chainId is empty: the chain id is taken from the node".into());
    }
    for (field, v) in [
        ("blockDurationEstimated", &w.block_duration_estimated),
        ("windowCorrectionFactor", &w.window_correction_factor),
        ("timeoutRPCSecondsQuery", &w.timeout_rpc_seconds_query),
        ("timeoutRPCSecondsTx", &w.timeout_rpc_seconds_tx),
        (
            "timeoutRPCSecondsRegistration",
            &w.timeout_rpc_seconds_registration,
        ),
    ] {
        if v.is_some() {
            cx.warnings.push(format!(
                "wallet.{field} is a Go-node setting and is ignored (window timing comes from the chain)"
            ));
        }
    }
    key.map(|key| WalletPlan {
        key,
        key_name,
        home_dir,
        gas,
        gas_adjustment,
        gas_prices,
        max_fees,
        rpc_urls,
        grpc_urls,
        max_retries,
        retry_delay,
        account_sequence_retry_delay: seq_delay,
        submit_tx: w.submit_tx.unwrap_or(true),
        chain_id,
    })
}

fn topic_id(v: Option<i64>, path: &str, cx: &mut Ctx<'_>) -> u64 {
    match v {
        Some(n) if n > 0 => n as u64,
        Some(n) => {
            cx.err(
                format!("{path}.topicId"),
                format!("{n} is not a topic id"),
                "use the positive topic id from the chain",
            );
            0
        }
        None => {
            cx.err(
                format!("{path}.topicId"),
                "missing",
                "add \"topicId\": <the topic's id>",
            );
            0
        }
    }
}

fn loop_seconds(v: Option<i64>, path: &str, default: u64, cx: &mut Ctx<'_>) -> Duration {
    match v {
        None => Duration::from_secs(default),
        Some(n) if (1..=86_400).contains(&n) => Duration::from_secs(n as u64),
        Some(n) => {
            cx.err(
                format!("{path}.loopSeconds"),
                format!("{n} is outside 1–86400"),
                "use the polling interval in seconds, e.g. 5",
            );
            Duration::from_secs(default)
        }
    }
}

/// Builds an adapter plan from an explicit `*Adapter` block.
fn adapter_block(
    a: &RawAdapter,
    path: &str,
    params: &BTreeMap<String, String>,
    cx: &mut Ctx<'_>,
) -> Option<AdapterPlan> {
    let Some(wasm) = a.wasm.as_deref().filter(|s| !s.is_empty()) else {
        cx.err(
            format!("{path}.wasm"),
            "missing",
            "set \"wasm\" to the path of a compiled adapter component (.wasm)",
        );
        return None;
    };
    let wasm = cx.resolve(wasm);
    if !wasm.is_file() {
        cx.err(
            format!("{path}.wasm"),
            format!("file {} does not exist", wasm.display()),
            "build the adapter (e.g. adapters-wasm/build.sh) or correct the path",
        );
    }
    let timeout_ms = match a.timeout_ms {
        None => DEFAULT_TIMEOUT_MS,
        Some(n) if (1..=600_000).contains(&n) => n as u64,
        Some(n) => {
            cx.err(
                format!("{path}.timeoutMs"),
                format!("{n} is outside 1–600000"),
                "use a per-call budget in milliseconds, e.g. 5000",
            );
            DEFAULT_TIMEOUT_MS
        }
    };
    let memory_mb = match a.memory_mb {
        None => DEFAULT_MEMORY_MB,
        Some(n) if n >= 1 && (n as u64) <= MAX_MEMORY_MB => n as u64,
        Some(n) => {
            cx.err(
                format!("{path}.memoryMb"),
                format!("{n} is outside 1–{MAX_MEMORY_MB}"),
                "use the adapter's memory cap in MiB, e.g. 64",
            );
            DEFAULT_MEMORY_MB
        }
    };
    let max_http_requests = match a.max_http_requests {
        None => DEFAULT_MAX_HTTP_REQUESTS,
        Some(n) if (0..=1000).contains(&n) => n as u32,
        Some(n) => {
            cx.err(
                format!("{path}.maxHttpRequests"),
                format!("{n} is outside 0–1000"),
                "use a small cap such as 8",
            );
            DEFAULT_MAX_HTTP_REQUESTS
        }
    };
    let max_response_bytes = match a.max_response_bytes {
        None => DEFAULT_MAX_RESPONSE_BYTES,
        Some(n) if n > 0 => n as u64,
        Some(n) => {
            cx.err(
                format!("{path}.maxResponseBytes"),
                format!("{n} is not positive"),
                "use a byte cap such as 1048576",
            );
            DEFAULT_MAX_RESPONSE_BYTES
        }
    };
    for (i, h) in a.allowed_hosts.iter().enumerate() {
        if let Err(e) = allora_sandbox::netpolicy::Allowlist::parse(std::slice::from_ref(h)) {
            cx.err(
                format!("{path}.allowedHosts[{i}]"),
                e,
                "list hosts as \"example.com\", \"example.com:8000\" or \"*.example.com\"",
            );
        }
    }
    let mut merged = params.clone();
    merged.extend(a.params.clone());
    Some(AdapterPlan {
        name: wasm
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "adapter".into()),
        wasm,
        allowed_hosts: a.allowed_hosts.clone(),
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: memory_mb * 1024 * 1024,
        max_http_requests,
        max_response_bytes,
        params: merged,
    })
}

/// Maps a Go entrypoint name onto the shipped http-source adapter. The endpoint parameter
/// (`InferenceEndpoint`, …) must be present; its host:port becomes the allowlist.
fn go_entrypoint(
    name: &str,
    path: &str,
    field: &str,
    params_path: &str,
    endpoint_keys: &[&str],
    params: &BTreeMap<String, String>,
    cx: &mut Ctx<'_>,
) -> Option<AdapterPlan> {
    if name != GO_ENTRYPOINT {
        cx.err(
            format!("{path}.{field}"),
            format!("unknown entrypoint '{name}'"),
            format!(
                "use \"{GO_ENTRYPOINT}\" (HTTP endpoints in the parameters) or replace it with an adapter block pointing at a .wasm"
            ),
        );
        return None;
    }
    let mut hosts = BTreeSet::new();
    let mut found = false;
    for key in endpoint_keys {
        let Some(endpoint) = params.get(*key) else {
            continue;
        };
        found = true;
        // Placeholders like {Token} may sit in the path; the authority must be literal.
        let probe = endpoint.replace(['{', '}'], "");
        match url::Url::parse(&probe) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                // Always host:port: the runtime only lets an exact host:port entry reach a
                // loopback/private address (e.g. a local source service).
                let host = u.host_str().unwrap_or_default();
                let port = u.port_or_known_default().unwrap_or(80);
                hosts.insert(format!("{host}:{port}"));
            }
            _ => cx.err(
                format!("{path}.{params_path}.{key}"),
                format!("'{endpoint}' is not an http(s) URL"),
                "use a URL such as http://source:8000/inference/{Token}",
            ),
        }
    }
    if !found {
        cx.err(
            format!("{path}.{params_path}.{}", endpoint_keys[0]),
            format!("missing: {GO_ENTRYPOINT} needs the endpoint URL"),
            format!(
                "add \"{}\": \"http://host:port/path/{{Token}}\" to {params_path}",
                endpoint_keys[0]
            ),
        );
    }
    let Some(dir) = cx.adapters_dir.clone() else {
        cx.err(
            format!("{path}.{field}"),
            format!("{GO_ENTRYPOINT} runs on the shipped {HTTP_SOURCE_WASM}, which was not found"),
            format!(
                "build it with adapters-wasm/build.sh, then set node.adaptersDir or ${ENV_ADAPTERS_DIR} to the directory holding {HTTP_SOURCE_WASM}"
            ),
        );
        return None;
    };
    let wasm = dir.join(HTTP_SOURCE_WASM);
    if !wasm.is_file() {
        cx.err(
            format!("{path}.{field}"),
            format!("{} does not exist", wasm.display()),
            format!("build the shipped adapters (adapters-wasm/build.sh) or fix node.adaptersDir / ${ENV_ADAPTERS_DIR}"),
        );
    }
    Some(AdapterPlan {
        name: "http_source".into(),
        wasm,
        allowed_hosts: hosts.into_iter().collect(),
        timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
        memory_bytes: DEFAULT_MEMORY_MB * 1024 * 1024,
        max_http_requests: DEFAULT_MAX_HTTP_REQUESTS,
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        params: params.clone(),
    })
}

fn workers(list: &[RawWorker], cx: &mut Ctx<'_>) -> Vec<WorkerPlan> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let path = format!("worker[{i}]");
        let topic_id = topic_id(w.topic_id, &path, cx);
        if topic_id > 0
            && let Some(prev) = seen.insert(topic_id, i)
        {
            cx.err(
                format!("{path}.topicId"),
                format!("topic {topic_id} is already configured in worker[{prev}]"),
                "keep one worker entry per topic",
            );
        }
        let loop_interval = loop_seconds(w.loop_seconds, &path, 5, cx);
        let inference = match (&w.inference_entrypoint_name, &w.inference_adapter) {
            (Some(_), Some(_)) => {
                cx.err(
                    format!("{path}.inferenceAdapter"),
                    "both inferenceEntrypointName and inferenceAdapter are set",
                    "keep only one of them",
                );
                None
            }
            (Some(name), None) => go_entrypoint(
                name,
                &path,
                "inferenceEntrypointName",
                "parameters",
                &["InferenceEndpoint"],
                &w.parameters,
                cx,
            ),
            (None, Some(a)) => {
                adapter_block(a, &format!("{path}.inferenceAdapter"), &w.parameters, cx)
            }
            (None, None) => {
                cx.err(
                    format!("{path}.inferenceAdapter"),
                    "no inference source",
                    format!(
                        "add \"inferenceAdapter\": {{\"wasm\": \"…\"}} or \"inferenceEntrypointName\": \"{GO_ENTRYPOINT}\""
                    ),
                );
                None
            }
        };
        let forecast = match (&w.forecast_entrypoint_name, &w.forecast_adapter) {
            (Some(_), Some(_)) => {
                cx.err(
                    format!("{path}.forecastAdapter"),
                    "both forecastEntrypointName and forecastAdapter are set",
                    "keep only one of them",
                );
                None
            }
            (Some(name), None) if name.is_empty() => None,
            (Some(name), None) => go_entrypoint(
                name,
                &path,
                "forecastEntrypointName",
                "parameters",
                &["ForecastEndpoint"],
                &w.parameters,
                cx,
            ),
            (None, Some(a)) => {
                adapter_block(a, &format!("{path}.forecastAdapter"), &w.parameters, cx)
            }
            (None, None) => None,
        };
        if let Some(inference) = inference {
            out.push(WorkerPlan {
                topic_id,
                loop_interval,
                inference,
                forecast,
            });
        }
    }
    out
}

fn reputers(list: &[RawReputer], cx: &mut Ctx<'_>) -> Vec<ReputerPlan> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let path = format!("reputer[{i}]");
        let topic_id = topic_id(r.topic_id, &path, cx);
        if topic_id > 0
            && let Some(prev) = seen.insert(topic_id, i)
        {
            cx.err(
                format!("{path}.topicId"),
                format!("topic {topic_id} is already configured in reputer[{prev}]"),
                "keep one reputer entry per topic",
            );
        }
        let loop_interval = loop_seconds(r.loop_seconds, &path, 30, cx);
        let min_stake = match &r.min_stake {
            None => 0,
            Some(v) => {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match text.parse::<u128>() {
                    Ok(n) => n,
                    Err(_) => {
                        cx.err(
                            format!("{path}.minStake"),
                            format!("{v} is not a whole amount of uallo"),
                            "use a non-negative integer in uallo, e.g. 100000 (0 disables top-ups)",
                        );
                        0
                    }
                }
            }
        };
        let ground_truth = match (&r.ground_truth_entrypoint_name, &r.ground_truth_adapter) {
            (Some(_), Some(_)) => {
                cx.err(
                    format!("{path}.groundTruthAdapter"),
                    "both groundTruthEntrypointName and groundTruthAdapter are set",
                    "keep only one of them",
                );
                None
            }
            (Some(name), None) => go_entrypoint(
                name,
                &path,
                "groundTruthEntrypointName",
                "groundTruthParameters",
                &["GroundTruthEndpoint"],
                &r.ground_truth_parameters,
                cx,
            ),
            (None, Some(a)) => adapter_block(
                a,
                &format!("{path}.groundTruthAdapter"),
                &r.ground_truth_parameters,
                cx,
            ),
            (None, None) => {
                cx.err(
                    format!("{path}.groundTruthAdapter"),
                    "no ground-truth source",
                    format!(
                        "add \"groundTruthAdapter\": {{\"wasm\": \"…\"}} or \"groundTruthEntrypointName\": \"{GO_ENTRYPOINT}\""
                    ),
                );
                None
            }
        };
        let lfp = r.loss_function_parameters.clone().unwrap_or_default();
        let options = lfp.loss_method_options.clone();
        let method = r
            .loss_method
            .clone()
            .or_else(|| options.get("loss_method").cloned())
            .filter(|s| !s.is_empty());
        let loss = if let Some(a) = &r.loss_adapter {
            if r.loss_function_entrypoint_name.is_some() || r.loss_method.is_some() {
                cx.err(
                    format!("{path}.lossAdapter"),
                    "lossAdapter is combined with lossFunctionEntrypointName or lossMethod",
                    "keep only one way of computing losses",
                );
            }
            adapter_block(a, &format!("{path}.lossAdapter"), &options, cx).map(LossPlan::Adapter)
        } else {
            if let Some(name) = &r.loss_function_entrypoint_name
                && name != GO_ENTRYPOINT
            {
                cx.err(
                    format!("{path}.lossFunctionEntrypointName"),
                    format!("unknown entrypoint '{name}'"),
                    format!(
                        "use \"{GO_ENTRYPOINT}\" (built-in losses), a \"lossMethod\", or a \"lossAdapter\" block"
                    ),
                );
            }
            if lfp.loss_function_service.is_some() {
                cx.warnings.push(format!(
                    "{path}.lossFunctionParameters.LossFunctionService is not called: losses are computed by the built-in methods"
                ));
            }
            match method {
                Some(m) => {
                    let field = if r.loss_method.is_some() {
                        format!("{path}.lossMethod")
                    } else {
                        format!("{path}.lossFunctionParameters.LossMethodOptions.loss_method")
                    };
                    if let Err(e) = super::loss_method(&m, &options) {
                        cx.err(
                            field,
                            format!("loss method '{m}' is not usable: {e}"),
                            "use a built-in method such as sqe, abse, huber, logcosh, bce, poisson, ztae, zptae",
                        );
                    }
                    Some(LossPlan::Builtin { method: m, options })
                }
                None => Some(LossPlan::FromTopic { options }),
            }
        };
        if let (Some(ground_truth), Some(loss)) = (ground_truth, loss) {
            out.push(ReputerPlan {
                topic_id,
                loop_interval,
                min_stake,
                ground_truth,
                loss,
            });
        }
    }
    out
}

fn node(raw: &RawConfig, cx: &mut Ctx<'_>) -> Option<NodePlan> {
    let n = &raw.node;
    let metrics_addr = match n.metrics_addr.as_deref() {
        None | Some("") => SocketAddr::from(([0, 0, 0, 0], 2112)),
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
        None => Duration::from_secs(10),
        Some(s) if (1..=600).contains(&s) => Duration::from_secs(s as u64),
        Some(s) => {
            cx.err(
                "node.shutdownTimeoutSecs",
                format!("{s} is outside 1–600"),
                "use a bound in seconds such as 10",
            );
            Duration::from_secs(10)
        }
    };
    Some(NodePlan {
        metrics_addr,
        cache_dir: n.cache_dir.as_deref().map(|d| cx.resolve(d)),
        shutdown_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw;

    const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn setup() -> (tempfile::TempDir, Env) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("adapters")).unwrap();
        std::fs::write(dir.path().join("adapters").join(HTTP_SOURCE_WASM), b"\0asm").unwrap();
        std::fs::write(dir.path().join("model.wasm"), b"\0asm").unwrap();
        let env = Env {
            adapters_dir: Some(dir.path().join("adapters")),
            home: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        (dir, env)
    }

    fn check(text: &str, dir: &Path, env: &Env) -> Result<Plan, Vec<ConfigIssue>> {
        let raw = raw::parse(text).expect("raw parse");
        validate(&raw, dir, env)
    }

    #[test]
    fn brief_example_validates() {
        let (dir, env) = setup();
        let text = format!(
            r#"{{
          "wallet": {{ "addressKeyName": "worker1", "addressRestoreMnemonic": "{MNEMONIC}", "alloraHomeDir": "",
            "gas": "auto", "gasAdjustment": 1.5, "gasPrices": "auto", "maxFees": 5000000,
            "nodeRpc": "http://127.0.0.1:26657", "nodeRpcs": [], "nodeGrpcs": ["http://127.0.0.1:9090"],
            "maxRetries": 5, "retryDelay": 3, "accountSequenceRetryDelay": 5, "submitTx": true,
            "chainId": "allora-testnet-1" }},
          "worker": [
            {{ "topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 5,
              "parameters": {{ "InferenceEndpoint": "http://source:8000/inference/{{Token}}", "Token": "ETH" }} }},
            {{ "topicId": 2, "loopSeconds": 5, "parameters": {{ "Token": "ETH" }},
              "inferenceAdapter": {{ "wasm": "model.wasm", "allowedHosts": ["source:8000"],
                                    "timeoutMs": 5000, "memoryMb": 64 }} }}
          ],
          "reputer": [
            {{ "topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
              "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 30, "minStake": 100000,
              "groundTruthParameters": {{ "GroundTruthEndpoint": "http://source:8000/truth/{{Token}}/{{BlockHeight}}", "Token": "ETH" }},
              "lossFunctionParameters": {{ "LossMethodOptions": {{ "loss_method": "sqe" }} }} }}
          ],
          "node": {{ "metricsAddr": "0.0.0.0:2112", "cacheDir": null }}
        }}"#
        );
        let plan = check(&text, dir.path(), &env).unwrap();
        assert_eq!(plan.workers.len(), 2);
        let w0 = &plan.workers[0];
        assert_eq!(w0.inference.name, "http_source");
        assert_eq!(w0.inference.allowed_hosts, vec!["source:8000".to_string()]);
        assert_eq!(
            w0.inference.params.get("Token").map(String::as_str),
            Some("ETH")
        );
        let w1 = &plan.workers[1];
        assert_eq!(w1.inference.wasm, dir.path().join("model.wasm"));
        assert_eq!(w1.inference.timeout, Duration::from_millis(5000));
        assert_eq!(w1.inference.memory_bytes, 64 << 20);
        let r = &plan.reputers[0];
        assert_eq!(r.min_stake, 100_000);
        assert!(matches!(&r.loss, LossPlan::Builtin { method, .. } if method == "sqe"));
        assert_eq!(
            plan.wallet.grpc_urls,
            vec!["http://127.0.0.1:9090".to_string()]
        );
        assert_eq!(plan.wallet.max_fees, 5_000_000);
        assert!(plan.wallet.submit_tx);
        assert!(matches!(plan.wallet.key, KeySource::Mnemonic(_)));
        assert!(!format!("{:?}", plan.wallet.key).contains("abandon"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let (dir, env) = setup();
        let text = r#"{
          "wallet": { "gas": "lots", "gasAdjustment": 0.2, "nodeGrpcs": ["not a url"], "maxRetries": -1 },
          "worker": [
            { "topicId": 0, "loopSeconds": 0, "inferenceEntrypointName": "api-worker-reputer", "parameters": {} },
            { "topicId": 3, "inferenceAdapter": { "wasm": "missing.wasm", "memoryMb": 0 } },
            { "topicId": 3, "inferenceEntrypointName": "python-model" }
          ],
          "reputer": [
            { "topicId": 4, "lossMethod": "not-a-loss" }
          ],
          "node": { "metricsAddr": "port 2112" }
        }"#;
        let issues = check(text, dir.path(), &env).unwrap_err();
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        for expected in [
            "wallet.addressKeyName",
            "wallet.gas",
            "wallet.gasAdjustment",
            "wallet.nodeGrpcs[0]",
            "wallet.maxRetries",
            "worker[0].topicId",
            "worker[0].loopSeconds",
            "worker[0].parameters.InferenceEndpoint",
            "worker[1].inferenceAdapter.wasm",
            "worker[1].inferenceAdapter.memoryMb",
            "worker[2].topicId",
            "worker[2].inferenceEntrypointName",
            "reputer[0].groundTruthAdapter",
            "reputer[0].lossMethod",
            "node.metricsAddr",
        ] {
            assert!(
                paths.contains(&expected),
                "missing {expected} in {paths:#?}"
            );
        }
        assert!(issues.iter().all(|i| !i.fix.is_empty()));
    }

    #[test]
    fn go_entrypoint_without_shipped_adapter_says_how_to_build_it() {
        let (dir, _) = setup();
        let env = Env {
            home: Some(dir.path().to_path_buf()),
            cwd: Some(dir.path().join("nowhere")),
            ..Env::default()
        };
        let text = format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "inferenceEntrypointName": "api-worker-reputer",
                            "parameters": {{"InferenceEndpoint": "http://127.0.0.1:8000/x"}}}}]}}"#
        );
        let issues = check(&text, &dir.path().join("nowhere"), &env).unwrap_err();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, "worker[0].inferenceEntrypointName");
        assert!(issues[0].fix.contains("adapters-wasm/build.sh"));
    }

    #[test]
    fn key_sources_follow_precedence_and_topic_loss_is_default() {
        let (dir, mut env) = setup();
        env.mnemonic = Some(MNEMONIC.into());
        let text = r#"{"wallet": {"addressKeyName": "k", "nodeRpc": "http://127.0.0.1:26657", "submitTx": false},
             "reputer": [{"topicId": 9, "groundTruthAdapter": {"wasm": "model.wasm"}}]}"#;
        let plan = check(text, dir.path(), &env).unwrap();
        assert!(matches!(plan.wallet.key, KeySource::Mnemonic(_)));
        assert!(!plan.wallet.submit_tx);
        assert!(matches!(plan.reputers[0].loss, LossPlan::FromTopic { .. }));
        assert_eq!(plan.reputers[0].loop_interval, Duration::from_secs(30));
        env.mnemonic = None;
        let plan = check(text, dir.path(), &env).unwrap();
        assert_eq!(
            plan.wallet.key,
            KeySource::Keystore {
                name: "k".into(),
                home: dir.path().join(".allora-node")
            }
        );
        assert!(plan.warnings.iter().any(|w| w.contains("nodeGrpcs")));
    }

    #[test]
    fn go_metrics_port_shorthand_is_accepted() {
        let (dir, env) = setup();
        let text = format!(
            r#"{{"wallet": {{"addressRestoreMnemonic": "{MNEMONIC}", "nodeGrpcs": ["http://127.0.0.1:9090"]}},
               "worker": [{{"topicId": 1, "inferenceAdapter": {{"wasm": "model.wasm"}}}}],
               "node": {{"metricsAddr": ":9100"}}}}"#
        );
        let plan = check(&text, dir.path(), &env).unwrap();
        assert_eq!(plan.node.metrics_addr, "0.0.0.0:9100".parse().unwrap());
    }
}
