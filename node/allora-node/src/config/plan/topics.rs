//! `worker[]` and `reputer[]` entries → one [`WorkerPlan`] / [`ReputerPlan`] per topic, with
//! their adapters and (for reputers) the validated loss policy.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::defaults as d;
use super::super::raw::{RawAdapter, RawReputer, RawWorker};
use allora_sandbox::Role;

use super::adapters::{AdapterPlan, GoEntrypoint, adapter_block, go_entrypoint};
use super::policy::{LossOptions, LossPlan, parse_uallo};
use super::roles::check_role;
use super::{Ctx, GO_ENTRYPOINT};

/// One topic's worker.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub topic_id: u64,
    /// The wallet that signs for it ([`super::DEFAULT_WALLET`] or a `wallets[].name`).
    pub wallet: String,
    pub loop_interval: Duration,
    pub inference: AdapterPlan,
    pub forecast: Option<AdapterPlan>,
}

/// One topic's reputer.
#[derive(Debug, Clone)]
pub struct ReputerPlan {
    pub topic_id: u64,
    /// The wallet that signs for it ([`super::DEFAULT_WALLET`] or a `wallets[].name`).
    pub wallet: String,
    pub loop_interval: Duration,
    /// Self-stake target in uallo (0 disables top-ups).
    pub min_stake: u128,
    pub ground_truth: AdapterPlan,
    pub loss: LossPlan,
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

/// Records a duplicate topic (one entry per topic and role).
fn unique(
    seen: &mut BTreeMap<u64, usize>,
    topic_id: u64,
    i: usize,
    path: &str,
    role: &str,
    cx: &mut Ctx<'_>,
) {
    if topic_id > 0
        && let Some(prev) = seen.insert(topic_id, i)
    {
        cx.err(
            format!("{path}.topicId"),
            format!("topic {topic_id} is already configured in {role}[{prev}]"),
            format!("keep one {role} entry per topic (one wallet signs each topic's {role})"),
        );
    }
}

fn loop_seconds(v: Option<i64>, path: &str, default: u64, cx: &mut Ctx<'_>) -> Duration {
    match v {
        None => Duration::from_secs(default),
        Some(n) if d::LOOP_SECS_RANGE.contains(&n) => Duration::from_secs(n as u64),
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

/// One adapter role of an entry: a Go entrypoint name or an adapter block, not both.
struct Source<'a> {
    entry: Option<&'a String>,
    block: Option<&'a RawAdapter>,
    entry_field: &'a str,
    block_field: &'a str,
    params_path: &'a str,
    endpoint_key: &'a str,
    params: &'a BTreeMap<String, String>,
    /// The role the block's component must export.
    role: Role,
}

/// `Ok(None)` when neither is set; the caller decides whether that is an error.
fn source(path: &str, s: Source<'_>, cx: &mut Ctx<'_>) -> Result<Option<AdapterPlan>, ()> {
    match (s.entry, s.block) {
        (Some(_), Some(_)) => {
            cx.err(
                format!("{path}.{}", s.block_field),
                format!("both {} and {} are set", s.entry_field, s.block_field),
                "keep only one of them",
            );
            Err(())
        }
        (Some(name), None) => go_entrypoint(
            name,
            GoEntrypoint {
                path,
                field: s.entry_field,
                params_path: s.params_path,
                endpoint_keys: &[s.endpoint_key],
            },
            s.params,
            cx,
        )
        .map(Some)
        .ok_or(()),
        (None, Some(a)) => {
            let block_path = format!("{path}.{}", s.block_field);
            let plan = adapter_block(a, &block_path, s.params, cx).ok_or(())?;
            check_role(&plan, s.role, &block_path, cx);
            Ok(Some(plan))
        }
        (None, None) => Ok(None),
    }
}

pub(super) fn workers(list: &[RawWorker], cx: &mut Ctx<'_>) -> Vec<WorkerPlan> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let path = format!("worker[{i}]");
        let topic_id = topic_id(w.topic_id, &path, cx);
        unique(&mut seen, topic_id, i, &path, "worker", cx);
        let loop_interval = loop_seconds(w.loop_seconds, &path, d::WORKER_LOOP_SECS, cx);
        let inference = source(
            &path,
            Source {
                entry: w.inference_entrypoint_name.as_ref(),
                block: w.inference_adapter.as_ref(),
                entry_field: "inferenceEntrypointName",
                block_field: "inferenceAdapter",
                params_path: "parameters",
                endpoint_key: "InferenceEndpoint",
                params: &w.parameters,
                role: Role::Inference,
            },
            cx,
        );
        let inference = match inference {
            Ok(Some(a)) => Some(a),
            Ok(None) => {
                cx.err(
                    format!("{path}.inferenceAdapter"),
                    "no inference source",
                    format!(
                        "add \"inferenceAdapter\": {{\"wasm\": \"…\"}} or \"inferenceEntrypointName\": \"{GO_ENTRYPOINT}\""
                    ),
                );
                None
            }
            Err(()) => None,
        };
        // An empty forecast entrypoint name (Go configs write "") means no forecast.
        let forecast_entry = w
            .forecast_entrypoint_name
            .as_ref()
            .filter(|n| !n.is_empty());
        let forecast = source(
            &path,
            Source {
                entry: forecast_entry,
                block: w.forecast_adapter.as_ref(),
                entry_field: "forecastEntrypointName",
                block_field: "forecastAdapter",
                params_path: "parameters",
                endpoint_key: "ForecastEndpoint",
                params: &w.parameters,
                role: Role::Forecast,
            },
            cx,
        )
        .unwrap_or(None);
        if let Some(inference) = inference {
            out.push(WorkerPlan {
                topic_id,
                wallet: super::wallets::wallet_name(w.wallet.as_deref()),
                loop_interval,
                inference,
                forecast,
            });
        }
    }
    out
}

fn min_stake(r: &RawReputer, path: &str, cx: &mut Ctx<'_>) -> u128 {
    match &r.min_stake {
        None => 0,
        Some(v) => parse_uallo(v, false).unwrap_or_else(|e| {
            cx.err(
                format!("{path}.minStake"),
                e,
                "use a non-negative integer in uallo, e.g. 100000 (0 disables top-ups)",
            );
            0
        }),
    }
}

/// The loss policy: a loss adapter, a built-in method (validated with its options here,
/// once), or the topic's method (options validated here, the name resolved at startup).
fn loss(r: &RawReputer, path: &str, cx: &mut Ctx<'_>) -> Option<LossPlan> {
    let lfp = r.loss_function_parameters.clone().unwrap_or_default();
    let raw_options = &lfp.loss_method_options;
    if let Some(a) = &r.loss_adapter {
        if r.loss_function_entrypoint_name.is_some() || r.loss_method.is_some() {
            cx.err(
                format!("{path}.lossAdapter"),
                "lossAdapter is combined with lossFunctionEntrypointName or lossMethod",
                "keep only one way of computing losses",
            );
        }
        let block_path = format!("{path}.lossAdapter");
        let plan = adapter_block(a, &block_path, raw_options, cx)?;
        check_role(&plan, Role::Loss, &block_path, cx);
        return Some(LossPlan::Adapter(plan));
    }
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
    let options_path = format!("{path}.lossFunctionParameters.LossMethodOptions");
    let options = match LossOptions::parse(raw_options) {
        Ok(o) => o,
        Err(e) => {
            cx.err(
                options_path,
                e,
                "give every loss option a numeric value, e.g. \"delta\": \"1.0\"",
            );
            return None;
        }
    };
    let method = r
        .loss_method
        .clone()
        .or_else(|| raw_options.get("loss_method").cloned())
        .filter(|s| !s.is_empty());
    let Some(m) = method else {
        return Some(LossPlan::FromTopic(options));
    };
    let field = if r.loss_method.is_some() {
        format!("{path}.lossMethod")
    } else {
        format!("{options_path}.loss_method")
    };
    match options.method(&m) {
        Ok(method) => Some(LossPlan::Builtin(method)),
        Err(e) => {
            cx.err(
                field,
                format!("loss method '{m}' is not usable: {e}"),
                "use a built-in method such as sqe, abse, huber, logcosh, bce, poisson, ztae, zptae",
            );
            None
        }
    }
}

pub(super) fn reputers(list: &[RawReputer], cx: &mut Ctx<'_>) -> Vec<ReputerPlan> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let path = format!("reputer[{i}]");
        let topic_id = topic_id(r.topic_id, &path, cx);
        unique(&mut seen, topic_id, i, &path, "reputer", cx);
        let loop_interval = loop_seconds(r.loop_seconds, &path, d::REPUTER_LOOP_SECS, cx);
        let min_stake = min_stake(r, &path, cx);
        let ground_truth = source(
            &path,
            Source {
                entry: r.ground_truth_entrypoint_name.as_ref(),
                block: r.ground_truth_adapter.as_ref(),
                entry_field: "groundTruthEntrypointName",
                block_field: "groundTruthAdapter",
                params_path: "groundTruthParameters",
                endpoint_key: "GroundTruthEndpoint",
                params: &r.ground_truth_parameters,
                role: Role::GroundTruth,
            },
            cx,
        );
        let ground_truth = match ground_truth {
            Ok(Some(a)) => Some(a),
            Ok(None) => {
                cx.err(
                    format!("{path}.groundTruthAdapter"),
                    "no ground-truth source",
                    format!(
                        "add \"groundTruthAdapter\": {{\"wasm\": \"…\"}} or \"groundTruthEntrypointName\": \"{GO_ENTRYPOINT}\""
                    ),
                );
                None
            }
            Err(()) => None,
        };
        let loss = loss(r, &path, cx);
        if let (Some(ground_truth), Some(loss)) = (ground_truth, loss) {
            out.push(ReputerPlan {
                topic_id,
                wallet: super::wallets::wallet_name(r.wallet.as_deref()),
                loop_interval,
                min_stake,
                ground_truth,
                loss,
            });
        }
    }
    out
}
