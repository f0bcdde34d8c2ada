//! The raw, serde-level shape of `config.json`: exactly the Go off-chain node's field names
//! (camelCase, `parameters` maps of strings) plus our adapter blocks. Unknown fields are
//! rejected so a typo never silently disables a setting; each section is parsed on its own
//! so every structural problem is reported at once, with its JSON path.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigIssue;

/// The whole file, as written by the user.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub wallet: RawWallet,
    /// Extra signing keys (`wallets[]`); the `wallet` block is the default wallet.
    pub wallets: Vec<RawNamedWallet>,
    pub worker: Vec<RawWorker>,
    pub reputer: Vec<RawReputer>,
    pub node: RawNode,
}

/// `wallet` — key, endpoints, gas and retry policy (Go-node names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWallet {
    #[serde(default)]
    pub address_key_name: Option<String>,
    #[serde(default)]
    pub address_restore_mnemonic: Option<String>,
    #[serde(default)]
    pub mnemonic_file: Option<String>,
    #[serde(default)]
    pub allora_home_dir: Option<String>,
    /// `"auto"` or a fixed gas limit (number or numeric string).
    #[serde(default)]
    pub gas: Option<serde_json::Value>,
    #[serde(default)]
    pub gas_adjustment: Option<f64>,
    /// `"auto"` (fee market) or a decimal price in uallo per gas unit.
    #[serde(default)]
    pub gas_prices: Option<serde_json::Value>,
    #[serde(default)]
    pub max_fees: Option<serde_json::Value>,
    #[serde(default)]
    pub node_rpc: Option<String>,
    #[serde(default)]
    pub node_rpcs: Option<Vec<String>>,
    #[serde(default)]
    pub node_grpcs: Option<Vec<String>>,
    #[serde(default)]
    pub max_retries: Option<i64>,
    #[serde(default)]
    pub retry_delay: Option<i64>,
    #[serde(default)]
    pub account_sequence_retry_delay: Option<i64>,
    #[serde(default)]
    pub submit_tx: Option<bool>,
    #[serde(default)]
    pub chain_id: Option<String>,
    /// Go node PR #128: an `allo1…` account whose x/feegrant allowance pays every tx's fee.
    #[serde(default)]
    pub fee_granter_address: Option<String>,
    /// Txs the wallet's tx actor keeps in flight (broadcast, awaiting inclusion) at once.
    #[serde(default)]
    pub max_txs_in_flight: Option<i64>,
    /// Messages per tx at most.
    #[serde(default)]
    pub max_msgs_per_tx: Option<i64>,
    /// Encoded bytes per tx at most.
    #[serde(default)]
    pub max_tx_bytes: Option<i64>,
    // Later Go-node releases added these timing knobs; we accept them so such configs run
    // unchanged, and ignore them (our timing comes from the chain's window queries/events).
    #[serde(default)]
    pub block_duration_estimated: Option<serde_json::Value>,
    #[serde(default)]
    pub window_correction_factor: Option<serde_json::Value>,
    #[serde(default, rename = "timeoutRPCSecondsQuery")]
    pub timeout_rpc_seconds_query: Option<serde_json::Value>,
    #[serde(default, rename = "timeoutRPCSecondsTx")]
    pub timeout_rpc_seconds_tx: Option<serde_json::Value>,
    #[serde(default, rename = "timeoutRPCSecondsRegistration")]
    pub timeout_rpc_seconds_registration: Option<serde_json::Value>,
}

/// One `wallets[]` entry: an extra signing key. Chain, gas, fee and retry settings are the
/// `wallet` block's, shared by every wallet; only the key and the fee granter are its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNamedWallet {
    /// What `worker[].wallet` / `reputer[].wallet` refer to.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address_key_name: Option<String>,
    #[serde(default)]
    pub address_restore_mnemonic: Option<String>,
    #[serde(default)]
    pub mnemonic_file: Option<String>,
    /// Overrides `wallet.feeGranterAddress` for this wallet.
    #[serde(default)]
    pub fee_granter_address: Option<String>,
}

/// One `worker[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWorker {
    #[serde(default)]
    pub topic_id: Option<i64>,
    #[serde(default)]
    pub inference_entrypoint_name: Option<String>,
    #[serde(default)]
    pub forecast_entrypoint_name: Option<String>,
    #[serde(default)]
    pub loop_seconds: Option<i64>,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub inference_adapter: Option<RawAdapter>,
    #[serde(default)]
    pub forecast_adapter: Option<RawAdapter>,
    /// Name of the `wallets[]` entry that signs for this worker; absent = the default wallet.
    #[serde(default)]
    pub wallet: Option<String>,
}

/// One `reputer[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReputer {
    #[serde(default)]
    pub topic_id: Option<i64>,
    #[serde(default)]
    pub ground_truth_entrypoint_name: Option<String>,
    #[serde(default)]
    pub loss_function_entrypoint_name: Option<String>,
    #[serde(default)]
    pub loop_seconds: Option<i64>,
    #[serde(default)]
    pub min_stake: Option<serde_json::Value>,
    #[serde(default)]
    pub ground_truth_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub loss_function_parameters: Option<RawLossFunctionParameters>,
    #[serde(default)]
    pub ground_truth_adapter: Option<RawAdapter>,
    #[serde(default)]
    pub loss_adapter: Option<RawAdapter>,
    /// Built-in loss method name (overrides `LossMethodOptions.loss_method`).
    #[serde(default)]
    pub loss_method: Option<String>,
    /// Name of the `wallets[]` entry that signs for this reputer; absent = the default wallet.
    #[serde(default)]
    pub wallet: Option<String>,
}

/// Go node `lossFunctionParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLossFunctionParameters {
    #[serde(default, rename = "LossFunctionService")]
    pub loss_function_service: Option<String>,
    #[serde(default, rename = "LossMethodOptions")]
    pub loss_method_options: BTreeMap<String, String>,
    #[serde(default, rename = "IsNeverNegative")]
    pub is_never_negative: Option<bool>,
}

/// An adapter block: a `.wasm` component with its limits and HTTP allowlist.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAdapter {
    #[serde(default)]
    pub wasm: Option<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub memory_mb: Option<i64>,
    #[serde(default)]
    pub max_http_requests: Option<i64>,
    #[serde(default)]
    pub max_response_bytes: Option<i64>,
    /// Extra parameters merged over the role's `parameters` map.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Host directories the adapter may read (read-only WASI preopens).
    #[serde(default)]
    pub files: Vec<RawMount>,
    /// Keep one instance per topic alive between calls (opt-in).
    #[serde(default)]
    pub warm: Option<RawWarm>,
}

/// The `warm` option of an adapter block: `{"maxCalls": 1000, "maxMemoryMb": 256}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWarm {
    #[serde(default)]
    pub max_calls: Option<i64>,
    #[serde(default)]
    pub max_memory_mb: Option<i64>,
}

/// One `files` entry of an adapter block: `{"host": "./models/eth", "guest": "/model"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMount {
    /// Host directory; relative paths resolve against the config file's directory.
    #[serde(default)]
    pub host: Option<String>,
    /// Absolute path the adapter sees it at.
    #[serde(default)]
    pub guest: Option<String>,
    /// Cap on the bytes under `host`, in MiB.
    #[serde(default)]
    pub max_mb: Option<i64>,
}

/// `node` — our own settings (absent from Go configs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNode {
    #[serde(default)]
    pub metrics_addr: Option<String>,
    #[serde(default)]
    pub cache_dir: Option<String>,
    /// Where shipped adapters (`http_source.wasm`) live, for Go entrypoint names.
    #[serde(default)]
    pub adapters_dir: Option<String>,
    #[serde(default)]
    pub shutdown_timeout_secs: Option<i64>,
    /// Address-space limit of one adapter compile process, in MiB.
    #[serde(default)]
    pub compile_memory_mb: Option<i64>,
    /// Wall-clock budget of compiling one adapter, in seconds.
    #[serde(default)]
    pub compile_timeout_secs: Option<i64>,
    /// Event websocket deafness watchdog, in expected block times.
    #[serde(default)]
    pub event_watchdog_blocks: Option<i64>,
    /// Longest an actor goes without polling while the event stream is healthy, in seconds.
    #[serde(default)]
    pub safety_poll_seconds: Option<i64>,
    /// Adapter instances alive at once (pool slots); calls beyond it queue.
    #[serde(default)]
    pub adapter_instances: Option<i64>,
}

const TOP_LEVEL: &[&str] = &["wallet", "wallets", "worker", "reputer", "node"];

/// Parses the JSON text section by section, collecting every structural error.
pub fn parse(text: &str) -> Result<RawConfig, Vec<ConfigIssue>> {
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        vec![ConfigIssue::new(
            "$",
            format!("not valid JSON: {e}"),
            "fix the JSON syntax at the reported line and column",
        )]
    })?;
    let Some(obj) = root.as_object() else {
        return Err(vec![ConfigIssue::new(
            "$",
            "the config must be a JSON object",
            "wrap the settings in { \"wallet\": …, \"worker\": […], \"reputer\": […] }",
        )]);
    };
    let mut issues = Vec::new();
    for key in obj.keys() {
        if !TOP_LEVEL.contains(&key.as_str()) {
            issues.push(ConfigIssue::new(
                key,
                "unknown top-level field",
                format!("remove it; known fields are {}", TOP_LEVEL.join(", ")),
            ));
        }
    }
    let mut raw = RawConfig::default();
    match obj.get("wallet") {
        Some(v) => {
            if let Some(w) = section::<RawWallet>("wallet", v, &mut issues) {
                raw.wallet = w;
            }
        }
        None => issues.push(ConfigIssue::new(
            "wallet",
            "missing",
            "add a \"wallet\" object with at least the key and the node endpoints",
        )),
    }
    raw.wallets = list("wallets", obj.get("wallets"), &mut issues);
    raw.worker = list("worker", obj.get("worker"), &mut issues);
    raw.reputer = list("reputer", obj.get("reputer"), &mut issues);
    if let Some(v) = obj.get("node")
        && !v.is_null()
        && let Some(n) = section::<RawNode>("node", v, &mut issues)
    {
        raw.node = n;
    }
    if issues.is_empty() {
        Ok(raw)
    } else {
        Err(issues)
    }
}

fn list<T: for<'de> Deserialize<'de>>(
    name: &str,
    value: Option<&serde_json::Value>,
    issues: &mut Vec<ConfigIssue>,
) -> Vec<T> {
    let Some(value) = value else {
        return Vec::new();
    };
    if value.is_null() {
        return Vec::new();
    }
    let Some(items) = value.as_array() else {
        issues.push(ConfigIssue::new(
            name,
            "must be a list",
            format!("write \"{name}\": [ {{ … }}, … ]"),
        ));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| section::<T>(&format!("{name}[{i}]"), item, issues))
        .collect()
}

/// Most problems reported inside one section (one entry of a list): each is removed from a
/// scratch copy of the JSON after it is reported, so the next parse attempt finds the next one.
const MAX_ISSUES_PER_SECTION: usize = 32;

/// Parses one section, reporting every problem inside it (not only the first) with its path.
fn section<T: for<'de> Deserialize<'de>>(
    prefix: &str,
    value: &serde_json::Value,
    issues: &mut Vec<ConfigIssue>,
) -> Option<T> {
    // Every section is a JSON object; serde would also accept a list of field values.
    if !value.is_object() {
        issues.push(ConfigIssue::new(
            prefix,
            "must be an object",
            format!("write {prefix} as {{ \"field\": value, … }}"),
        ));
        return None;
    }
    let mut scratch = value.clone();
    let mut failed = false;
    for _ in 0..MAX_ISSUES_PER_SECTION {
        let err = match serde_path_to_error::deserialize::<_, T>(&scratch) {
            Ok(v) => return (!failed).then_some(v),
            Err(err) => err,
        };
        failed = true;
        let inner = err.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{inner}")
        };
        let msg = err.inner().to_string();
        let fix = if msg.starts_with("unknown field") {
            "remove the field or correct its spelling (names are case-sensitive)".to_string()
        } else if msg.starts_with("invalid type") {
            "use the JSON type the message names".to_string()
        } else {
            "correct the value".to_string()
        };
        issues.push(ConfigIssue::new(path, msg, fix));
        // Drop the offending field and look for the next problem; an error without a field
        // to drop (the section itself has the wrong type) ends the search.
        if !remove_at(&mut scratch, err.path()) {
            break;
        }
    }
    None
}

/// Removes the value at `path` (a field of an object, an element of a list) from `root`;
/// false when the path names no removable value.
fn remove_at(root: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = root;
    for seg in parents {
        let next = match (seg, node) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => map.get_mut(key.as_str()),
            (Segment::Seq { index }, serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match (last, node) {
        (Segment::Map { key }, serde_json::Value::Object(map)) => {
            map.remove(key.as_str()).is_some()
        }
        (Segment::Seq { index }, serde_json::Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_reported_with_paths_in_every_section() {
        let text = r#"{
            "wallet": {"nodeGrpcs": ["http://x:9090"], "gasAdjustmnt": 1.5},
            "worker": [{"topicId": 1}, {"topicId": 2, "loopSecs": 5}],
            "reputer": [{"topicId": 1, "lossFunctionParameters": {"Bogus": 1}}],
            "extra": true
        }"#;
        let issues = parse(text).unwrap_err();
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"extra"), "{paths:?}");
        assert!(paths.contains(&"wallet.gasAdjustmnt"), "{paths:?}");
        assert!(paths.contains(&"worker[1].loopSecs"), "{paths:?}");
        assert!(
            paths.contains(&"reputer[0].lossFunctionParameters.Bogus"),
            "{paths:?}"
        );
        assert_eq!(issues.len(), 4);
        let wallet = issues
            .iter()
            .find(|i| i.path.starts_with("wallet"))
            .unwrap();
        assert!(wallet.message.contains("gasAdjustmnt"));
    }

    #[test]
    fn wrong_types_name_the_nested_path() {
        let text = r#"{"wallet": {}, "worker": [{"topicId": "one"}]}"#;
        let issues = parse(text).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "worker[0].topicId");
    }

    #[test]
    fn every_problem_inside_one_entry_is_reported() {
        // The issue's example: one wallet problem and two in the same worker entry.
        let text = r#"{"wallet":{"nodeRpc":5},"worker":[{"topicId":"x","bogusField":1}]}"#;
        let issues = parse(text).unwrap_err();
        let mut paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "wallet.nodeRpc",
                "worker[0].bogusField",
                "worker[0].topicId"
            ]
        );
    }

    #[test]
    fn nested_adapter_block_problems_are_all_reported() {
        let text = r#"{"wallet": {}, "worker": [{"topicId": 1, "loopSeconds": "5",
            "inferenceAdapter": {"wasm": 1, "timeoutMs": "x", "allowedHost": []}}]}"#;
        let issues = parse(text).unwrap_err();
        let mut paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "worker[0].inferenceAdapter.allowedHost",
                "worker[0].inferenceAdapter.timeoutMs",
                "worker[0].inferenceAdapter.wasm",
                "worker[0].loopSeconds",
            ]
        );
    }

    #[test]
    fn a_section_of_the_wrong_type_is_one_issue() {
        let issues = parse(r#"{"wallet": [], "worker": [7]}"#).unwrap_err();
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["wallet", "worker[0]"]);
    }

    #[test]
    fn syntax_errors_are_one_issue() {
        let issues = parse("{ \"wallet\": ").unwrap_err();
        assert_eq!(issues.len(), 1);
        assert!(issues[0].message.contains("not valid JSON"));
    }

    #[test]
    fn go_node_example_parses() {
        let text = r#"{
          "wallet": {"addressKeyName": "test", "addressRestoreMnemonic": "", "alloraHomeDir": "",
            "gas": "auto", "gasAdjustment": 1.5, "nodeRpc": "https://allora-rpc.testnet.allora.network",
            "maxRetries": 1, "retryDelay": 3, "accountSequenceRetryDelay": 5, "submitTx": true,
            "blockDurationEstimated": 5, "windowCorrectionFactor": 0.8},
          "worker": [{"topicId": 1, "inferenceEntrypointName": "api-worker-reputer", "loopSeconds": 5,
            "parameters": {"InferenceEndpoint": "http://source:8000/inference/{Token}", "Token": "ETH"}}],
          "reputer": [{"topicId": 1, "groundTruthEntrypointName": "api-worker-reputer",
            "lossFunctionEntrypointName": "api-worker-reputer", "loopSeconds": 30, "minStake": 100000,
            "groundTruthParameters": {"GroundTruthEndpoint": "http://localhost:8888/gt/{Token}/{BlockHeight}", "Token": "ETHUSD"},
            "lossFunctionParameters": {"LossFunctionService": "http://localhost:5000", "LossMethodOptions": {"loss_method": "sqe"}}}]
        }"#;
        let raw = parse(text).unwrap();
        assert_eq!(raw.worker.len(), 1);
        assert_eq!(raw.reputer[0].topic_id, Some(1));
    }
}
