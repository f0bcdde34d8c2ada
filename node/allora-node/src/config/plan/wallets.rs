//! Many wallets in one process: the `wallet` block is the default wallet (named
//! [`DEFAULT_WALLET`]) and carries every chain, gas, fee and retry setting; each optional
//! `wallets[]` entry adds one signing key with its own name and, optionally, its own fee
//! granter. `worker[].wallet` / `reputer[].wallet` pick the key that signs for that topic.
//!
//! Validation here owns what only makes sense across wallets: names present, well formed
//! and unique, references that name a wallet, and two wallets that would sign with the
//! same account (they would share one account sequence and clash on every tx).

use std::collections::BTreeMap;

use super::super::raw::RawConfig;
use super::Ctx;
use super::wallet::{KeyFields, KeySource, WalletPlan, fee_granter, key_source};

/// The name of the `wallet` block's key.
pub const DEFAULT_WALLET: &str = "default";

/// Longest accepted wallet name (it appears in logs and JSON paths).
const MAX_NAME_LEN: usize = 64;

/// One signing key and who pays its fees.
#[derive(Debug, Clone)]
pub struct SignerPlan {
    /// [`DEFAULT_WALLET`] or the `wallets[].name`.
    pub name: String,
    pub key: KeySource,
    /// The wallet's own `feeGranterAddress`, else `wallet.feeGranterAddress`, else none.
    pub fee_granter: Option<String>,
    /// JSON path of the block the key comes from (`wallet`, `wallets[1]`), for messages.
    pub path: String,
}

fn name_ok(n: &str) -> bool {
    n.len() <= MAX_NAME_LEN
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Every wallet, the default one first. `default` is `None` when the `wallet` block had no
/// key (already reported).
pub(super) fn signers(
    raw: &RawConfig,
    default: Option<&WalletPlan>,
    cx: &mut Ctx<'_>,
) -> Vec<SignerPlan> {
    let mut out = Vec::new();
    let inherited = default.and_then(|w| w.fee_granter.clone());
    if let Some(w) = default {
        out.push(SignerPlan {
            name: DEFAULT_WALLET.to_string(),
            key: w.key.clone(),
            fee_granter: inherited.clone(),
            path: "wallet".into(),
        });
    }
    let home = default.map(|w| w.home_dir.clone()).unwrap_or_default();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    names.insert(DEFAULT_WALLET.to_string(), "wallet".into());
    for (i, w) in raw.wallets.iter().enumerate() {
        let path = format!("wallets[{i}]");
        let name = match w.name.as_deref().map(str::trim) {
            None | Some("") => {
                cx.err(
                    format!("{path}.name"),
                    "missing",
                    "add \"name\": \"<a short name>\" and refer to it from worker[].wallet / reputer[].wallet",
                );
                None
            }
            Some(DEFAULT_WALLET) => {
                cx.err(
                    format!("{path}.name"),
                    "\"default\" is the name of the `wallet` block's key",
                    "choose another name; entries without \"wallet\" already use the `wallet` block",
                );
                None
            }
            Some(n) if !name_ok(n) => {
                cx.err(
                    format!("{path}.name"),
                    format!("'{n}' is not a wallet name"),
                    format!(
                        "use up to {MAX_NAME_LEN} letters, digits, '-', '_' or '.', e.g. \"w2\""
                    ),
                );
                None
            }
            Some(n) => match names.get(n) {
                Some(prev) => {
                    cx.err(
                        format!("{path}.name"),
                        format!("wallet name '{n}' is already used by {prev}"),
                        "give every wallets[] entry its own name",
                    );
                    None
                }
                None => {
                    names.insert(n.to_string(), path.clone());
                    Some(n.to_string())
                }
            },
        };
        let key = key_source(
            KeyFields {
                prefix: &path,
                key_name: w.address_key_name.as_deref(),
                mnemonic: w.address_restore_mnemonic.as_deref(),
                mnemonic_file: w.mnemonic_file.as_deref(),
                env_fallback: false,
            },
            &home,
            cx,
        );
        let own = fee_granter(
            w.fee_granter_address.as_deref(),
            &format!("{path}.feeGranterAddress"),
            cx,
        );
        if let (Some(name), Some(key)) = (name, key) {
            out.push(SignerPlan {
                name,
                key,
                fee_granter: own.or_else(|| inherited.clone()),
                path,
            });
        }
    }
    same_address(&out, cx);
    references(raw, &names, cx);
    out
}

/// The account a key signs for, when it can be read now. A key that cannot be loaded yet
/// (a keystore entry created later) is reported at start-up instead.
fn address_of(key: &KeySource) -> Option<String> {
    use allora_chain_client::keys::Wallet;
    use allora_chain_client::keys::store::{Keystore, wallet_from_mnemonic_file};
    let wallet = match key {
        KeySource::Mnemonic(m) => Wallet::from_mnemonic(m).ok(),
        KeySource::MnemonicFile(p) => wallet_from_mnemonic_file(p).ok(),
        KeySource::Keystore { name, home } => Keystore::new(home).load(name).ok(),
    };
    wallet.map(|w| w.address().to_string())
}

/// Two wallets with one account would share its sequence: refuse the second.
fn same_address(signers: &[SignerPlan], cx: &mut Ctx<'_>) {
    if signers.len() < 2 {
        return;
    }
    let mut seen: BTreeMap<String, &SignerPlan> = BTreeMap::new();
    for s in signers {
        let Some(addr) = address_of(&s.key) else {
            continue;
        };
        if let Some(prev) = seen.get(&addr) {
            cx.err(
                s.path.clone(),
                format!(
                    "wallet '{}' signs with {addr}, the same account as wallet '{}' ({})",
                    s.name, prev.name, prev.path
                ),
                "give every wallet its own key: one account has one sequence, so two wallets on it would clash",
            );
        } else {
            seen.insert(addr, s);
        }
    }
}

/// `worker[].wallet` / `reputer[].wallet` must name a wallet.
fn references(raw: &RawConfig, names: &BTreeMap<String, String>, cx: &mut Ctx<'_>) {
    let known = names.keys().cloned().collect::<Vec<_>>().join(", ");
    let refs = raw
        .worker
        .iter()
        .enumerate()
        .map(|(i, w)| (format!("worker[{i}].wallet"), w.wallet.as_deref()))
        .chain(
            raw.reputer
                .iter()
                .enumerate()
                .map(|(i, r)| (format!("reputer[{i}].wallet"), r.wallet.as_deref())),
        );
    let mut issues = Vec::new();
    for (path, name) in refs {
        if let Some(n) = name.map(str::trim).filter(|s| !s.is_empty())
            && !names.contains_key(n)
        {
            issues.push((path, n.to_string()));
        }
    }
    for (path, n) in issues {
        cx.err(
            path,
            format!("no wallet named '{n}'"),
            format!("use one of: {known}; or add {{\"name\": \"{n}\", …}} to \"wallets\""),
        );
    }
}

/// The wallet name an entry refers to (absent = the default wallet).
pub(super) fn wallet_name(v: Option<&str>) -> String {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_WALLET)
        .to_string()
}
