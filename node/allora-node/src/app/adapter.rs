//! [`AdapterPort`] over the wasmtime runtime: loads the configured `.wasm` for its roles
//! with the Plan's limits and allowlist, and hands the sandbox's typed `CallError` to the
//! actors unchanged (as [`AdapterError::Call`]) so metrics count failures by kind.
//!
//! Every call runs on tokio's blocking pool: a guest spinning in a loop holds its thread
//! until its epoch deadline traps it, and on a 2-core machine that would pin half of the
//! async workers — i.e. one topic's broken model would slow every other topic. On the
//! blocking pool it only ever costs its own thread.

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
        .load(AdapterSpec {
            name: plan.name.clone(),
            wasm: plan.wasm.clone(),
            roles,
            limits: plan.limits.clone(),
            allowed_hosts: plan.allowed_hosts.policy().clone(),
            mounts: plan.mounts.clone(),
        })
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

/// Runs one adapter call on the blocking pool (see the module docs).
async fn isolated<T, F, Fut>(adapter: &Adapter, call: &Call, f: F) -> Result<T, AdapterError>
where
    T: Send + 'static,
    F: FnOnce(Adapter, CallContext) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, allora_sandbox::CallError>>,
{
    let handle = tokio::runtime::Handle::current();
    let adapter = adapter.clone();
    let ctx = ctx(call);
    tokio::task::spawn_blocking(move || handle.block_on(f(adapter, ctx)))
        .await
        .map_err(|e| AdapterError::Task(e.to_string()))?
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
        let values = isolated(&self.adapter, call, |a, c| async move { a.infer(&c).await }).await?;
        Ok(values.into_iter().map(|v| (v.label, v.value)).collect())
    }

    async fn forecast(
        &self,
        call: &Call,
        inferers: &[String],
    ) -> Result<Vec<(String, String)>, AdapterError> {
        let inferers = inferers.to_vec();
        let values = isolated(&self.adapter, call, move |a, c| async move {
            a.forecast(&c, &inferers).await
        })
        .await?;
        Ok(values.into_iter().map(|v| (v.inferer, v.value)).collect())
    }

    async fn ground_truth(&self, call: &Call) -> Result<String, AdapterError> {
        isolated(&self.adapter, call, |a, c| async move {
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
        isolated(&self.adapter, call, move |a, c| async move {
            a.loss(&c, &truth, &preds).await
        })
        .await
    }

    async fn never_negative(&self, call: &Call) -> Result<bool, AdapterError> {
        isolated(&self.adapter, call, |a, c| async move {
            a.loss_never_negative(&c).await
        })
        .await
    }
}
