//! [`AdapterPort`] over the wasmtime runtime: loads the configured `.wasm` for its roles
//! with the Plan's limits, allowlist and `warm` option, and hands the sandbox's typed
//! `CallError` to the actors unchanged (as [`AdapterError::Call`]) so metrics count failures
//! by kind.
//!
//! Calls are plain futures on the node's runtime: the sandbox makes a computing guest yield
//! to the executor every few milliseconds and traps it at its deadline, so a topic's
//! spinning model neither holds a thread of its own nor stalls the other topics' calls, and
//! 1,000 concurrent calls cost 1,000 futures, not 1,000 blocking threads.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::actors::ports::{AdapterError, AdapterLoader, AdapterPort, Call};
use crate::config::AdapterPlan;
use allora_sandbox::{Adapter, AdapterRuntime, AdapterSpec, CallContext};

/// A loaded adapter.
pub struct WasmAdapter {
    adapter: Adapter,
    timeout: Duration,
}

/// Loads `plan` for `roles`; the error text names the adapter and what is wrong.
pub async fn load(
    rt: &AdapterRuntime,
    plan: &AdapterPlan,
    roles: Vec<allora_sandbox::Role>,
) -> Result<WasmAdapter, allora_sandbox::LoadError> {
    // The Plan parsed the allowlist with the sandbox's parser; the typed policy goes in as is.
    let adapter = rt
        .load_with_warm(
            AdapterSpec {
                name: plan.name.clone(),
                wasm: plan.wasm.clone(),
                roles,
                limits: plan.limits.clone(),
                allowed_hosts: plan.allowed_hosts.policy().clone(),
                mounts: plan.mounts.clone(),
            },
            plan.warm,
        )
        .await?;
    Ok(WasmAdapter {
        adapter,
        timeout: plan.limits.timeout,
    })
}

#[async_trait]
impl AdapterLoader for AdapterRuntime {
    async fn load(
        &self,
        plan: &AdapterPlan,
        role: allora_sandbox::Role,
    ) -> Result<Arc<dyn AdapterPort>, allora_sandbox::LoadError> {
        Ok(Arc::new(load(self, plan, vec![role]).await?))
    }
}

fn ctx(call: &Call) -> CallContext {
    CallContext {
        topic_id: call.topic_id,
        nonce: call.nonce,
        params: call.params.clone(),
        deadline: call.deadline,
    }
}

/// Runs one adapter call, mapping its typed error into the port's.
async fn run<T, F, Fut>(adapter: &Adapter, call: &Call, f: F) -> Result<T, AdapterError>
where
    F: FnOnce(Adapter, CallContext) -> Fut,
    Fut: std::future::Future<Output = Result<T, allora_sandbox::CallError>>,
{
    f(adapter.clone(), ctx(call))
        .await
        .map_err(AdapterError::Call)
}

#[async_trait]
impl AdapterPort for WasmAdapter {
    fn name(&self) -> &str {
        self.adapter.name()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn infer(&self, call: &Call) -> Result<Vec<(String, String)>, AdapterError> {
        let values = run(&self.adapter, call, |a, c| async move { a.infer(&c).await }).await?;
        Ok(values.into_iter().map(|v| (v.label, v.value)).collect())
    }

    async fn forecast(
        &self,
        call: &Call,
        inferers: &[String],
    ) -> Result<Vec<(String, String)>, AdapterError> {
        let inferers = inferers.to_vec();
        let values = run(&self.adapter, call, move |a, c| async move {
            a.forecast(&c, &inferers).await
        })
        .await?;
        Ok(values.into_iter().map(|v| (v.inferer, v.value)).collect())
    }

    async fn ground_truth(&self, call: &Call) -> Result<String, AdapterError> {
        run(&self.adapter, call, |a, c| async move {
            a.ground_truth(&c).await
        })
        .await
    }

    async fn loss(
        &self,
        call: &Call,
        ground_truth: &str,
        predictions: &[String],
    ) -> Result<Vec<String>, AdapterError> {
        let truth = ground_truth.to_string();
        let preds = predictions.to_vec();
        run(&self.adapter, call, move |a, c| async move {
            a.loss(&c, &truth, &preds).await
        })
        .await
    }

    async fn never_negative(&self, call: &Call) -> Result<bool, AdapterError> {
        run(&self.adapter, call, |a, c| async move {
            a.loss_never_negative(&c).await
        })
        .await
    }
}
