//! One adapter call, guarded and measured: a hard stop at the call's deadline (the runtime
//! enforces its own budget; this guard keeps a hung call from ever holding a topic past its
//! window), duration into `allora_adapter_call_seconds`, failures by their typed kind into
//! `allora_adapter_failures_total`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::ActorEnv;
use super::ports::{AdapterError, AdapterPort, Call};

/// A boxed adapter future borrowing the adapter and the call.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T, AdapterError>> + Send + 'a>>;

/// Extra time past the budget before the guard fires (the runtime should fire first).
const GUARD_SLACK: Duration = Duration::from_millis(500);

/// Runs `f(adapter, call)` under the guard and records metrics.
pub async fn timed<'a, T>(
    env: &ActorEnv,
    topic_id: u64,
    role: &'static str,
    adapter: &'a dyn AdapterPort,
    call: &'a Call,
    f: impl FnOnce(&'a dyn AdapterPort, &'a Call) -> BoxFut<'a, T>,
) -> Result<T, AdapterError> {
    let topic = topic_id.to_string();
    let start = Instant::now();
    let budget = match call.deadline {
        Some(d) => d.saturating_duration_since(start).min(adapter.timeout()),
        None => adapter.timeout(),
    } + GUARD_SLACK;
    let result = tokio::select! {
        r = tokio::time::timeout(budget, f(adapter, call)) => match r {
            Ok(r) => r,
            Err(_) => Err(AdapterError::Guard { adapter: adapter.name().to_string(), waited: budget }),
        },
        _ = env.shutdown.cancelled() => Err(AdapterError::Shutdown),
    };
    env.metrics
        .adapter_call_seconds
        .with_label_values(&[&topic, role, adapter.name()])
        .observe(start.elapsed().as_secs_f64());
    if let Err(err) = &result {
        env.metrics.adapter_failure(topic_id, role, err);
    }
    result
}
