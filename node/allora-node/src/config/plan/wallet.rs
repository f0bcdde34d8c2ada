//! The `wallet` section: the signing key's source, the chain endpoints, and the fee and
//! retry policies of the wallet's tx actor.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::super::ENV_MNEMONIC;
use super::super::defaults as d;
use super::super::raw::RawWallet;
use super::Ctx;
use super::policy::{BatchPolicy, FeePlan, RetryPolicy, parse_gas, parse_gas_price, parse_uallo};

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

/// The validated `wallet` section.
#[derive(Debug, Clone)]
pub struct WalletPlan {
    pub key: KeySource,
    pub home_dir: PathBuf,
    pub rpc_urls: Vec<String>,
    pub grpc_urls: Vec<String>,
    pub fees: FeePlan,
    pub retry: RetryPolicy,
    pub batch: BatchPolicy,
    pub submit_tx: bool,
    pub chain_id: Option<String>,
    /// `feeGranterAddress`: the account whose x/feegrant allowance pays every tx's fee
    /// (`AuthInfo.fee.granter`); `None` = the wallet pays its own fees.
    pub fee_granter: Option<String>,
}

fn url_ok(s: &str, schemes: &[&str]) -> bool {
    url::Url::parse(s)
        .map(|u| schemes.contains(&u.scheme()) && u.host_str().is_some())
        .unwrap_or(false)
}

/// The key fields of the `wallet` block or of one `wallets[]` entry.
pub(super) struct KeyFields<'a> {
    /// JSON path of the block (`wallet`, `wallets[2]`), prefixed to every issue.
    pub prefix: &'a str,
    pub key_name: Option<&'a str>,
    pub mnemonic: Option<&'a str>,
    pub mnemonic_file: Option<&'a str>,
    /// Only the default wallet falls back to the mnemonic env var.
    pub env_fallback: bool,
}

/// The key source of one wallet: mnemonic > mnemonic file > (env, default wallet only) >
/// keystore name; `None` after recording why.
pub(super) fn key_source(
    k: KeyFields<'_>,
    home_dir: &std::path::Path,
    cx: &mut Ctx<'_>,
) -> Option<KeySource> {
    let prefix = k.prefix;
    let key_name = k.key_name.filter(|s| !s.is_empty());
    if let Some(m) = k.mnemonic.filter(|s| !s.trim().is_empty()) {
        let words = m.split_whitespace().count();
        if ![12, 15, 18, 21, 24].contains(&words) {
            cx.err(
                format!("{prefix}.addressRestoreMnemonic"),
                format!("a BIP-39 mnemonic has 12–24 words, this one has {words}"),
                "paste the full mnemonic phrase, words separated by spaces",
            );
        }
        Some(KeySource::Mnemonic(m.trim().to_string()))
    } else if let Some(f) = k.mnemonic_file.filter(|s| !s.is_empty()) {
        let path = cx.resolve(f);
        if !path.is_file() {
            cx.err(
                format!("{prefix}.mnemonicFile"),
                format!("file {} does not exist", path.display()),
                "create the file with the mnemonic, or point mnemonicFile at it",
            );
        }
        Some(KeySource::MnemonicFile(path))
    } else if let Some(m) = cx.env.mnemonic.clone().filter(|_| k.env_fallback) {
        Some(KeySource::Mnemonic(m.trim().to_string()))
    } else if let Some(name) = key_name {
        Some(KeySource::Keystore {
            name: name.to_string(),
            home: home_dir.to_path_buf(),
        })
    } else {
        let env = if k.env_fallback {
            format!(", or ${ENV_MNEMONIC}")
        } else {
            String::new()
        };
        cx.err(
            format!("{prefix}.addressKeyName"),
            "no signing key configured",
            format!(
                "set {prefix}.addressKeyName to a key from `allora-node keys add`, or \
                 {prefix}.addressRestoreMnemonic or {prefix}.mnemonicFile{env}"
            ),
        );
        None
    }
}

fn fees(w: &RawWallet, cx: &mut Ctx<'_>) -> FeePlan {
    let mut fees = FeePlan::default();
    match parse_gas(w.gas.as_ref()) {
        Ok(g) => fees.gas = g,
        Err(e) => cx.err(
            "wallet.gas",
            e,
            "use \"auto\" or a positive integer such as 300000",
        ),
    }
    if let Some(adj) = w.gas_adjustment {
        if adj.is_finite() && d::GAS_ADJUSTMENT_RANGE.contains(&adj) {
            fees.gas_adjustment = adj;
        } else {
            cx.err(
                "wallet.gasAdjustment",
                format!("{adj} is outside 1.0–10.0"),
                format!("use a multiplier such as {}", d::GAS_ADJUSTMENT),
            );
        }
    }
    match parse_gas_price(w.gas_prices.as_ref()) {
        Ok(p) => fees.gas_prices = p,
        Err(e) => cx.err(
            "wallet.gasPrices",
            e,
            "use \"auto\" (fee market) or a price in uallo per gas, e.g. \"10\"",
        ),
    }
    if let Some(v) = &w.max_fees {
        match parse_uallo(v, true) {
            Ok(n) => fees.max_fees = n,
            Err(e) => cx.err(
                "wallet.maxFees",
                e,
                format!(
                    "use an integer amount of uallo per tx, e.g. {} (the default)",
                    d::MAX_FEES_UALLO
                ),
            ),
        }
    }
    fees
}

fn retry(w: &RawWallet, cx: &mut Ctx<'_>) -> RetryPolicy {
    let mut bounded = |v: Option<i64>, field: &str, default: i64, max: i64| -> i64 {
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
    let secs = |n: i64| Duration::from_secs(n as u64);
    RetryPolicy {
        max_retries: bounded(
            w.max_retries,
            "maxRetries",
            d::MAX_RETRIES,
            d::MAX_RETRIES_LIMIT,
        ) as u32,
        retry_delay: secs(bounded(
            w.retry_delay,
            "retryDelay",
            d::RETRY_DELAY_SECS,
            d::MAX_DELAY_SECS,
        )),
        sequence_retry_delay: secs(bounded(
            w.account_sequence_retry_delay,
            "accountSequenceRetryDelay",
            d::SEQUENCE_RETRY_DELAY_SECS,
            d::MAX_DELAY_SECS,
        )),
    }
}

/// `wallet.maxMsgsPerTx`, `wallet.maxTxBytes`, `wallet.maxTxsInFlight` over the defaults.
fn batch(w: &RawWallet, cx: &mut Ctx<'_>) -> BatchPolicy {
    let mut bounded =
        |v: Option<i64>, field: &str, range: std::ops::RangeInclusive<i64>, default: usize| match v
        {
            None => default,
            Some(n) if range.contains(&n) => n as usize,
            Some(n) => {
                cx.err(
                    format!("wallet.{field}"),
                    format!("{n} is outside {}–{}", range.start(), range.end()),
                    format!("use a value in that range (default {default})"),
                );
                default
            }
        };
    BatchPolicy {
        max_msgs_per_tx: bounded(
            w.max_msgs_per_tx,
            "maxMsgsPerTx",
            d::MAX_MSGS_PER_TX_RANGE,
            d::MAX_MSGS_PER_TX,
        ),
        max_tx_bytes: bounded(
            w.max_tx_bytes,
            "maxTxBytes",
            d::MAX_TX_BYTES_RANGE,
            d::MAX_TX_BYTES,
        ),
        max_in_flight: bounded(
            w.max_txs_in_flight,
            "maxTxsInFlight",
            d::MAX_TXS_IN_FLIGHT_RANGE,
            d::MAX_TXS_IN_FLIGHT,
        ),
        ..BatchPolicy::default()
    }
}

/// CometBFT RPC URLs (`nodeRpc` first, then `nodeRpcs`, deduplicated) and gRPC URLs.
fn endpoints(w: &RawWallet, cx: &mut Ctx<'_>) -> (Vec<String>, Vec<String>) {
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
    (rpc_urls, grpc_urls)
}

/// Validates `wallet`; `None` only after recording why (no key source).
pub(super) fn wallet(w: &RawWallet, cx: &mut Ctx<'_>) -> Option<WalletPlan> {
    let home_dir = match w.allora_home_dir.as_deref().filter(|s| !s.is_empty()) {
        Some(dir) => cx.resolve(dir),
        None => cx
            .env
            .home
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(d::HOME_SUBDIR),
    };
    let key = key_source(
        KeyFields {
            prefix: "wallet",
            key_name: w.address_key_name.as_deref(),
            mnemonic: w.address_restore_mnemonic.as_deref(),
            mnemonic_file: w.mnemonic_file.as_deref(),
            env_fallback: true,
        },
        &home_dir,
        cx,
    );
    let fees = fees(w, cx);
    let retry = retry(w, cx);
    let (rpc_urls, grpc_urls) = endpoints(w, cx);
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
    let fee_granter = fee_granter(
        w.fee_granter_address.as_deref(),
        "wallet.feeGranterAddress",
        cx,
    );
    key.map(|key| WalletPlan {
        key,
        home_dir,
        rpc_urls,
        grpc_urls,
        fees,
        retry,
        batch: batch(w, cx),
        submit_tx: w.submit_tx.unwrap_or(d::SUBMIT_TX),
        chain_id,
        fee_granter,
    })
}

/// A `feeGranterAddress` field at `path`: empty or absent = none; otherwise a bech32
/// `allo1…` account.
pub(super) fn fee_granter(value: Option<&str>, path: &str, cx: &mut Ctx<'_>) -> Option<String> {
    let g = value.map(str::trim)?;
    if g.is_empty() {
        return None;
    }
    if !allora_protocol::account::is_valid_address(g) {
        cx.err(
            path,
            format!("'{g}' is not a bech32 allo1… account address"),
            "use the granter's address as `allorad keys show <granter> -a` prints it, \
             or remove the field to let the wallet pay its own fees",
        );
        return None;
    }
    Some(g.to_string())
}
