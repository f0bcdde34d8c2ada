//! [`AdapterPort`] over the wasmtime runtime: loads the configured `.wasm` for its roles and
//! maps `CallError::kind()` into port errors so metrics count failures by kind.

use std::time::Duration;

use async_trait::async_trait;

use super::ports::{AdapterPort, Call, PortError};
use crate::config::AdapterPlan;
use crate::runtime::{self, Adapter, AdapterRuntime, AdapterSpec, CallContext, Limits};

/// A loaded adapter.
pub struct WasmAdapter {
    adapter: Adapter,
    timeout: Duration,
}

/// Loads `plan` for `roles`; the error text names the adapter and what is wrong.
pub async fn load(
    rt: &AdapterRuntime,
    plan: &AdapterPlan,
    roles: Vec<runtime::Role>,
) -> Result<WasmAdapter, runtime::LoadError> {
    let limits = Limits {
        timeout: plan.timeout,
        memory_bytes: plan.memory_bytes,
        max_http_requests: plan.max_http_requests,
        max_response_bytes: plan.max_response_bytes,
        ..Limits::default()
    };
    let adapter = rt
        .load(AdapterSpec {
            name: plan.name.clone(),
            wasm: plan.wasm.clone(),
            roles,
            limits,
            allowed_hosts: plan.allowed_hosts.clone(),
        })
        .await?;
    Ok(WasmAdapter {
        adapter,
        timeout: plan.timeout,
    })
}

fn ctx(call: &Call) -> CallContext {
    CallContext {
        topic_id: call.topic_id,
        nonce: call.nonce,
        params: call.params.clone(),
        deadline: call.deadline,
    }
}

fn err(e: runtime::CallError) -> PortError {
    PortError::new(e.kind(), e.to_string())
}

#[async_trait]
impl AdapterPort for WasmAdapter {
    fn name(&self) -> &str {
        self.adapter.name()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn infer(&self, call: &Call) -> Result<Vec<(String, String)>, PortError> {
        let values = self.adapter.infer(&ctx(call)).await.map_err(err)?;
        Ok(values.into_iter().map(|v| (v.label, v.value)).collect())
    }

    async fn forecast(
        &self,
        call: &Call,
        inferers: &[String],
    ) -> Result<Vec<(String, String)>, PortError> {
        let values = self
            .adapter
            .forecast(&ctx(call), inferers)
            .await
            .map_err(err)?;
        Ok(values.into_iter().map(|v| (v.inferer, v.value)).collect())
    }

    async fn ground_truth(&self, call: &Call) -> Result<String, PortError> {
        self.adapter.ground_truth(&ctx(call)).await.map_err(err)
    }

    async fn loss(
        &self,
        call: &Call,
        ground_truth: &str,
        predictions: &[String],
    ) -> Result<Vec<String>, PortError> {
        self.adapter
            .loss(&ctx(call), ground_truth, predictions)
            .await
            .map_err(err)
    }

    async fn never_negative(&self, call: &Call) -> Result<bool, PortError> {
        self.adapter
            .loss_never_negative(&ctx(call))
            .await
            .map_err(err)
    }
}
