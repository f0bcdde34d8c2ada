//! `allora-node doctor`: checks what `run` would need — config, endpoints, chain id, wallet
//! balance, registration and stake per configured topic, adapters loading — and prints one
//! line per finding. Findings are warnings: only an unusable config changes the exit code
//! (2), so doctor can run in scripts before the node is funded or registered.

use std::path::PathBuf;

use crate::actors::ports::{ChainPort, Role};
use crate::actors::supervisor::probe;
use crate::app;
use crate::cli::config::{EXIT_BAD_CONFIG, report};
use crate::config::{self, LossPlan, Plan};
use allora_sandbox::AdapterRuntime;

/// Arguments of `allora-node doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (used when neither ALLORA_OFFCHAIN_NODE_CONFIG_JSON nor
    /// ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH is set).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

struct Report {
    warnings: usize,
}

impl Report {
    fn ok(&self, what: &str) {
        println!("ok    {what}");
    }
    fn warn(&mut self, what: &str) {
        self.warnings += 1;
        println!("WARN  {what}");
    }
}

/// Runs the subcommand; the returned value is the process exit code.
pub async fn run(args: Args) -> anyhow::Result<i32> {
    let plan = match config::load(args.config.as_deref()) {
        Ok(p) => p,
        Err(err) => {
            report(&err);
            return Ok(EXIT_BAD_CONFIG);
        }
    };
    let mut r = Report { warnings: 0 };
    r.ok("config is valid");
    for w in &plan.warnings {
        r.warn(&format!("config: {w}"));
    }
    endpoints(&plan, &mut r).await;
    chain(&plan, &mut r).await;
    adapters(&plan, &mut r).await;
    println!(
        "doctor: {} warning(s){}",
        r.warnings,
        if r.warnings == 0 {
            "; ready to run"
        } else {
            ""
        }
    );
    Ok(0)
}

async fn endpoints(plan: &Plan, r: &mut Report) {
    for (kind, list) in [
        ("gRPC", &plan.wallet.grpc_urls),
        ("RPC", &plan.wallet.rpc_urls),
    ] {
        for url in list {
            if probe(url).await {
                r.ok(&format!("{kind} endpoint {url} is reachable"));
            } else {
                r.warn(&format!("{kind} endpoint {url} is not reachable"));
            }
        }
    }
}

/// `wallet.feeGranterAddress`: does the granter's allowance to this wallet exist and pay?
async fn fee_grant(chain: &dyn ChainPort, granter: &str, address: &str, r: &mut Report) {
    let fix = format!(
        "grant one with `allorad tx feegrant grant {granter} {address} --spend-limit <amount>uallo`, or remove wallet.feeGranterAddress"
    );
    match chain.fee_allowance(granter, address).await {
        Ok(None) => r.warn(&format!(
            "no fee allowance from {granter} to {address}: every tx will be refused; {fix}"
        )),
        Ok(Some(a)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            if a.expiration_unix.is_some_and(|e| e < now) {
                r.warn(&format!("fee allowance from {granter} has expired: {fix}"));
            } else if a.spend_limit == Some(0) {
                r.warn(&format!("fee allowance from {granter} is used up: {fix}"));
            } else {
                let limit = a
                    .spend_limit
                    .map(|l| format!("{l} uallo left"))
                    .unwrap_or_else(|| "no spend limit".to_string());
                r.ok(&format!("fees paid by {granter} ({}, {limit})", a.kind));
            }
        }
        Err(err) => r.warn(&format!(
            "cannot read the fee allowance from {granter}: {err}"
        )),
    }
}

async fn chain(plan: &Plan, r: &mut Report) {
    let (chain, address) = match app::query_port(plan).await {
        Ok(x) => x,
        Err(err) => {
            r.warn(&format!("cannot connect to the chain: {err:#}"));
            return;
        }
    };
    r.ok(&format!("wallet address {address}"));
    match chain.chain_id().await {
        Ok(id) => match &plan.wallet.chain_id {
            Some(want) if want != &id => r.warn(&format!(
                "chain id is {id} but wallet.chainId is {want}: fix wallet.chainId or the endpoints"
            )),
            _ => r.ok(&format!("chain id {id}")),
        },
        Err(err) => r.warn(&format!("cannot read chain id: {err}")),
    }
    let params = match chain.params().await {
        Ok(p) => Some(p),
        Err(err) => {
            r.warn(&format!("cannot read module params: {err}"));
            None
        }
    };
    // Every wallet (the default one first): its key, who pays its fees, its balance, and the
    // registration and stake of the topics assigned to it.
    let wallets = match app::wallet_addresses(plan) {
        Ok(w) => w,
        Err(err) => {
            r.warn(&format!("cannot load every wallet: {err}"));
            vec![(
                config::DEFAULT_WALLET.to_string(),
                address,
                plan.wallet.fee_granter.clone(),
            )]
        }
    };
    for (name, address, granter) in wallets {
        if plan.wallets.len() > 1 {
            r.ok(&format!("wallet {name}: address {address}"));
        }
        let w = Wallet {
            name: &name,
            address: &address,
            granter: granter.as_deref(),
        };
        wallet(plan, &*chain, w, params.as_ref(), r).await;
    }
}

/// One wallet as `doctor` checks it.
struct Wallet<'a> {
    name: &'a str,
    address: &'a str,
    granter: Option<&'a str>,
}

async fn wallet(
    plan: &Plan,
    chain: &dyn ChainPort,
    w: Wallet<'_>,
    params: Option<&crate::actors::ports::ChainParams>,
    r: &mut Report,
) {
    let address = w.address;
    if let Some(granter) = w.granter {
        fee_grant(chain, granter, address, r).await;
    }
    match chain.balance(address).await {
        Ok(b) => {
            let fee = params.map(|p| p.registration_fee).unwrap_or(0);
            if b == 0 && w.granter.is_some() && fee == 0 {
                r.ok("balance 0 uallo (tx fees are paid by the fee granter)");
            } else if b == 0 {
                r.warn(&format!("balance is 0 uallo: fund {address}"));
            } else if b < fee {
                r.warn(&format!(
                    "balance {b} uallo is below the registration fee {fee}: fund {address}"
                ));
            } else {
                r.ok(&format!("balance {b} uallo"));
            }
        }
        Err(err) => r.warn(&format!("cannot read balance: {err}")),
    }
    let roles = plan
        .workers
        .iter()
        .filter(|x| x.wallet == w.name)
        .map(|x| (x.topic_id, Role::Worker, 0u128))
        .chain(
            plan.reputers
                .iter()
                .filter(|x| x.wallet == w.name)
                .map(|p| (p.topic_id, Role::Reputer, p.min_stake)),
        );
    for (topic, role, min_stake) in roles {
        let rs = role.as_str();
        match chain.topic(topic).await {
            Ok(t) => r.ok(&format!(
                "topic {topic}: epoch {} blocks, worker window {}, ground-truth lag {}, loss {}",
                t.epoch_length, t.worker_submission_window, t.ground_truth_lag, t.loss_method
            )),
            Err(err) => {
                r.warn(&format!(
                    "topic {topic}: cannot read it ({err}); does it exist?"
                ));
                continue;
            }
        }
        match chain.is_registered(topic, address, role).await {
            Ok(true) => r.ok(&format!("topic {topic}: registered as {rs}")),
            Ok(false) => r.warn(&format!(
                "topic {topic}: not registered as {rs} (run registers it when the balance covers the fee)"
            )),
            Err(err) => r.warn(&format!("topic {topic}: cannot check {rs} registration: {err}")),
        }
        if role == Role::Reputer {
            match chain.stake_in_self(topic, address).await {
                Ok(s) => {
                    let required = params.map(|p| p.required_minimum_stake).unwrap_or(0);
                    if s < required.max(min_stake) {
                        r.warn(&format!(
                            "topic {topic}: self stake {s} uallo is below max(minStake {min_stake}, chain minimum {required})"
                        ));
                    } else {
                        r.ok(&format!("topic {topic}: self stake {s} uallo"));
                    }
                }
                Err(err) => r.warn(&format!("topic {topic}: cannot read stake: {err}")),
            }
        }
    }
}

async fn adapters(plan: &Plan, r: &mut Report) {
    let rt = match AdapterRuntime::new(crate::app::runtime_config(plan)) {
        Ok(rt) => rt,
        Err(err) => {
            r.warn(&format!("adapter runtime unavailable: {err}"));
            return;
        }
    };
    let mut list = Vec::new();
    for w in &plan.workers {
        list.push((w.topic_id, &w.inference, allora_sandbox::Role::Inference));
        if let Some(f) = &w.forecast {
            list.push((w.topic_id, f, allora_sandbox::Role::Forecast));
        }
    }
    for p in &plan.reputers {
        list.push((
            p.topic_id,
            &p.ground_truth,
            allora_sandbox::Role::GroundTruth,
        ));
        if let LossPlan::Adapter(a) = &p.loss {
            list.push((p.topic_id, a, allora_sandbox::Role::Loss));
        }
    }
    for (topic, a, role) in list {
        match app::adapter::load(&rt, a, vec![role]).await {
            Ok(_) => r.ok(&format!(
                "topic {topic}: adapter {} loads for {role}",
                a.name
            )),
            Err(err) => r.warn(&format!(
                "topic {topic}: adapter {} ({role}): {err}",
                a.name
            )),
        }
    }
}
