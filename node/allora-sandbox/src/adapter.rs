//! Loading a component for its configured roles, and calling it: a pool slot (queued up to
//! the call's deadline), a fresh `Store` per call (or the topic's warm instance, see
//! `warm`), deadline with yielding, memory limiter, output caps, and value validation.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Lower,
};

use super::cache::Source;
use super::checks::{
    MAX_GUEST_ERROR, Output, check, check_name, classify, decimal, hostcall_fuel, wit_ctx,
};
use super::compile::compile;
use super::error::{CallError, CallErrorKind, LoadError};
use super::exports::{
    self, ForecastResult, InferResult, LossResult, NeverNegativeResult, RoleExports, TruthResult,
    WitCallContext,
};
use super::host_http::ClientCache;
use super::host_log::truncate;
use super::http_target::http_deadline;
use super::mounts::{self, Mount};
use super::netpolicy::Allowlist;
use super::pool::{Evictable, Pool, SlotError};
use super::state::{CallState, HttpState, HttpTags, Limiter, LogCtx};
use super::store::CallStore;
use super::warm::{Recycle, WarmCache, WarmConfig, WarmInstance};
use super::{AdapterRuntime, AdapterSpec, CallContext, ForecastValue, LabeledValue, Limits, Role};

/// Table elements a guest may grow to (interpreters need large function tables).
const MAX_TABLE_ELEMENTS: usize = 200_000;
/// Longest label accepted.
const MAX_LABEL: usize = 128;
/// Longest inferer address accepted.
const MAX_INFERER: usize = 256;

/// How a load went (for logs and benchmarks).
#[derive(Debug, Clone, Copy)]
pub struct LoadInfo {
    /// Compiled now or taken from the on-disk cache.
    pub source: Source,
    /// Time spent compiling or deserializing.
    pub compile_time: Duration,
}

/// A loaded adapter, ready to be called concurrently (cheap to clone).
#[derive(Clone)]
pub struct Adapter {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    pre: InstancePre<CallState>,
    exports: RoleExports,
    roles: Vec<Role>,
    limits: Limits,
    allow: Arc<Allowlist>,
    clients: Arc<ClientCache>,
    mounts: Arc<[Mount]>,
    info: LoadInfo,
    pool: Arc<Pool>,
    /// Idle warm instances by topic; `None` unless the adapter opted in.
    warm: Option<Arc<WarmCache>>,
}

/// What a successful call leaves for interpreting the guest's own result.
struct Invoked {
    /// The last refused or failed HTTP request of the call, if any.
    http_error: Option<String>,
}

pub(super) async fn load(
    rt: &AdapterRuntime,
    spec: AdapterSpec,
    warm: Option<WarmConfig>,
) -> Result<Adapter, LoadError> {
    let name = spec.name.clone();
    let config_err = |reason: String| LoadError::Config {
        adapter: name.clone(),
        reason,
    };
    if spec.roles.is_empty() {
        return Err(config_err("no roles configured".into()));
    }
    if spec.limits.memory_bytes > rt.inner.config.max_memory_bytes {
        return Err(config_err(format!(
            "memory limit {} bytes is above the runtime maximum of {} bytes",
            spec.limits.memory_bytes, rt.inner.config.max_memory_bytes
        )));
    }
    if spec.limits.timeout.is_zero() {
        return Err(config_err("timeout must be greater than zero".into()));
    }
    if let Some(w) = &warm
        && w.max_calls == 0
    {
        return Err(config_err("warm.maxCalls must be at least 1".into()));
    }
    mounts::check(&spec.mounts).map_err(|(i, reason)| LoadError::Mount {
        adapter: name.clone(),
        host: spec.mounts[i].host.clone(),
        guest: spec.mounts[i].guest.clone(),
        reason,
    })?;
    let (component, info, _) = compile(rt, &name, &spec.wasm).await?;

    let mut role_exports = RoleExports::default();
    for &role in &spec.roles {
        let idx = exports::find(&component, role).map_err(|export| LoadError::MissingExport {
            adapter: name.clone(),
            role,
            export,
        })?;
        exports::record(&mut role_exports, role, idx);
    }
    let pre = rt
        .inner
        .linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Link {
            adapter: name.clone(),
            reason: format!("{e:#}"),
        })?;
    let name: Arc<str> = name.as_str().into();
    let warm = warm.map(|w| {
        let cache = Arc::new(WarmCache::new(w, name.clone()));
        let holder: Arc<dyn Evictable> = cache.clone();
        rt.inner.pool.register_idle_holder(Arc::downgrade(&holder));
        cache
    });
    let adapter = Adapter {
        inner: Arc::new(Inner {
            name: name.clone(),
            pre,
            exports: role_exports,
            roles: spec.roles.clone(),
            limits: spec.limits,
            allow: Arc::new(spec.allowed_hosts),
            clients: Arc::default(),
            mounts: spec.mounts.into(),
            info,
            pool: rt.inner.pool.clone(),
            warm,
        }),
    };
    adapter.trial().await?;
    tracing::debug!(adapter = %name, source = ?info.source, compile_ms = info.compile_time.as_millis() as u64, warm = adapter.inner.warm.is_some(), "adapter loaded");
    Ok(adapter)
}

impl Adapter {
    /// The configured name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The roles it was loaded for.
    pub fn roles(&self) -> &[Role] {
        &self.inner.roles
    }

    /// How it was loaded.
    pub fn load_info(&self) -> LoadInfo {
        self.inner.info
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The warm-instance settings, if the adapter keeps instances warm.
    pub fn warm(&self) -> Option<WarmConfig> {
        self.inner.warm.as_ref().map(|w| w.config)
    }

    /// Warm instances recycled so far (max calls, memory high-water, failure, eviction);
    /// 0 for an adapter that is not warm.
    pub fn warm_recycled(&self) -> u64 {
        self.inner.warm.as_ref().map_or(0, |w| w.recycled())
    }

    /// Idle warm instances right now (one per topic at most).
    pub fn warm_idle(&self) -> usize {
        self.inner.warm.as_ref().map_or(0, |w| w.idle_count())
    }

    /// Instantiates once and type-checks every configured role's functions, so a component
    /// built against another WIT version fails at load.
    async fn trial(&self) -> Result<(), LoadError> {
        let ctx = CallContext::default();
        let role = self.inner.roles[0];
        let inst_err = |reason: String| LoadError::Instantiate {
            adapter: self.inner.name.to_string(),
            reason,
        };
        let now = Instant::now();
        let deadline = self.deadline(&ctx, now);
        let mut call = self
            .open(&ctx, role, now, deadline)
            .await
            .map_err(|k| inst_err(k.to_string()))?;
        let store = &mut call.store;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let instance =
            match tokio::time::timeout(remaining, self.inner.pre.instantiate_async(&mut *store))
                .await
            {
                Err(_) => return Err(inst_err("timed out".into())),
                Ok(Err(e)) => {
                    let kind = classify(e, store, &self.inner.limits, remaining);
                    return Err(inst_err(kind.to_string()));
                }
                Ok(Ok(i)) => i,
            };
        let ex = &self.inner.exports;
        for &role in &self.inner.roles {
            let sig = |e: wasmtime::Error| LoadError::BadSignature {
                adapter: self.inner.name.to_string(),
                role,
                reason: format!("{e:#}"),
            };
            match role {
                Role::Inference => {
                    check::<(WitCallContext,), InferResult>(&instance, store, &ex.infer)
                        .map_err(sig)?
                }
                Role::Forecast => check::<(WitCallContext, Vec<String>), ForecastResult>(
                    &instance,
                    store,
                    &ex.forecast,
                )
                .map_err(sig)?,
                Role::GroundTruth => {
                    check::<(WitCallContext,), TruthResult>(&instance, store, &ex.ground_truth)
                        .map_err(sig)?
                }
                Role::Loss => {
                    check::<(WitCallContext, String, Vec<String>), LossResult>(
                        &instance, store, &ex.loss,
                    )
                    .map_err(sig)?;
                    check::<(WitCallContext,), NeverNegativeResult>(
                        &instance,
                        store,
                        &ex.never_negative,
                    )
                    .map_err(sig)?;
                }
            }
        }
        Ok(())
    }

    /// When a call starting `now` must end: the adapter's timeout, or the call's own
    /// deadline if earlier.
    fn deadline(&self, ctx: &CallContext, now: Instant) -> Instant {
        let deadline = now + self.inner.limits.timeout;
        ctx.deadline.map_or(deadline, |d| deadline.min(d))
    }

    /// A fresh store for one call: waits (FIFO) for a pool slot until `deadline`, then builds
    /// the per-call state and starts the call's clock.
    async fn open(
        &self,
        ctx: &CallContext,
        role: Role,
        now: Instant,
        deadline: Instant,
    ) -> Result<CallStore, CallErrorKind> {
        let pool = &self.inner.pool;
        let slot = pool.acquire(deadline).await.map_err(|e| match e {
            SlotError::Deadline => CallErrorKind::QueueTimeout {
                waited: now.elapsed(),
                instances: pool.capacity(),
            },
            SlotError::Closed => {
                CallErrorKind::Instantiate("the adapter runtime is shutting down".into())
            }
        })?;
        let limits = &self.inner.limits;
        let state = CallState::new(
            Limiter::new(
                usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
                MAX_TABLE_ELEMENTS,
            )
            .reporting_to(pool.counters.clone()),
            HttpState {
                allow: self.inner.allow.clone(),
                clients: self.inner.clients.clone(),
                max_requests: limits.max_http_requests,
                used: 0,
                max_response_bytes: limits.max_response_bytes,
                deadline: http_deadline(now, deadline),
                tags: HttpTags {
                    adapter: self.inner.name.clone(),
                    topic_id: ctx.topic_id,
                    role: role.as_str(),
                },
                last_error: Arc::default(),
            },
            LogCtx {
                adapter: self.inner.name.clone(),
                topic_id: ctx.topic_id,
                role: role.as_str(),
                lines: 0,
            },
            &self.inner.mounts,
        )
        .map_err(CallErrorKind::Instantiate)?;
        let mut call = CallStore::new(self.inner.pre.engine(), state, slot);
        call.store.set_hostcall_fuel(hostcall_fuel(limits));
        call.begin(now, deadline, ctx.topic_id, role.as_str());
        Ok(call)
    }

    fn err(&self, ctx: &CallContext, role: Role, kind: CallErrorKind) -> CallError {
        CallError {
            adapter: self.inner.name.to_string(),
            topic_id: ctx.topic_id,
            role,
            kind,
        }
    }

    /// Calls one export under the deadline, on the topic's warm instance if there is one,
    /// else on a fresh instance (which a warm adapter then keeps for the topic's next call).
    async fn invoke<P, R>(
        &self,
        ctx: &CallContext,
        role: Role,
        idx: &Option<ComponentExportIndex>,
        params: P,
    ) -> Result<(Invoked, R), CallError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let Some(idx) = idx else {
            return Err(self.err(ctx, role, CallErrorKind::NotExported));
        };
        let now = Instant::now();
        let deadline = self.deadline(ctx, now);
        let budget = deadline.saturating_duration_since(now);
        let warm = self.inner.warm.as_deref();
        let (mut call, reused, calls) = match warm.and_then(|w| w.take(ctx.topic_id)) {
            Some(mut w) => {
                w.call.begin(now, deadline, ctx.topic_id, role.as_str());
                (w.call, Some(w.instance), w.calls)
            }
            None => {
                let call = self
                    .open(ctx, role, now, deadline)
                    .await
                    .map_err(|k| self.err(ctx, role, k))?;
                (call, None, 0)
            }
        };
        let pre = &self.inner.pre;
        let store = &mut call.store;
        let run = async {
            let instance: Instance = match reused {
                Some(i) => i,
                None => pre
                    .instantiate_async(&mut *store)
                    .await
                    .map_err(|e| (true, e))?,
            };
            let func = instance
                .get_typed_func::<P, R>(&mut *store, idx)
                .map_err(|e| (true, e))?;
            let r = func
                .call_async(&mut *store, params)
                .await
                .map_err(|e| (false, e))?;
            Ok((instance, r))
        };
        // Host calls (http) are not interrupted by epochs; this outer timeout bounds them.
        let outcome = tokio::time::timeout_at(deadline.into(), run).await;
        call.store.data().flush_stdio();
        let failed = |call: CallStore| {
            if let Some(w) = warm {
                let memory = call.store.data().limiter.memory_used() as u64;
                w.recycle(ctx.topic_id, Recycle::Failed, calls + 1, memory);
            }
        };
        match outcome {
            Err(_) => {
                failed(call);
                Err(self.err(ctx, role, CallErrorKind::Timeout(budget)))
            }
            Ok(Err((instantiating, e))) => {
                let kind = classify(e, &call.store, &self.inner.limits, budget);
                let kind = match kind {
                    CallErrorKind::Trap(m) if instantiating => CallErrorKind::Instantiate(m),
                    k => k,
                };
                failed(call);
                Err(self.err(ctx, role, kind))
            }
            Ok(Ok((instance, r))) => {
                let invoked = Invoked {
                    http_error: call.store.data().http.last_error(),
                };
                if let Some(w) = warm {
                    w.put_back(ctx.topic_id, WarmInstance::new(call, instance, calls + 1));
                }
                Ok((invoked, r))
            }
        }
    }

    /// Maps the adapter's own `err` string, classifying it as "http" if a request failed.
    fn guest_err(
        &self,
        ctx: &CallContext,
        role: Role,
        invoked: &Invoked,
        msg: String,
    ) -> CallError {
        let message = truncate(&msg, MAX_GUEST_ERROR).to_string();
        let kind = match invoked.http_error.clone() {
            Some(http) => CallErrorKind::Http { http, message },
            None => CallErrorKind::Adapter(message),
        };
        self.err(ctx, role, kind)
    }

    /// `inference.infer`: labelled values in canonical decimal form.
    pub async fn infer(&self, ctx: &CallContext) -> Result<Vec<LabeledValue>, CallError> {
        let role = Role::Inference;
        let (invoked, (res,)) = self
            .invoke::<_, InferResult>(ctx, role, &self.inner.exports.infer, (wit_ctx(ctx),))
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &invoked, m))?;
        let mut out = Output::new(&self.inner.limits);
        let e = |k| self.err(ctx, role, k);
        out.check_len(list.len()).map_err(e)?;
        if list.is_empty() {
            return Err(e(CallErrorKind::Output("no values returned".into())));
        }
        let mut values = Vec::with_capacity(list.len());
        let mut seen = HashSet::new();
        for item in list {
            let label = out.string(item.label).map_err(e)?;
            let value = out.string(item.value).map_err(e)?;
            check_name(&label, "label", MAX_LABEL).map_err(e)?;
            if !seen.insert(label.clone()) {
                return Err(e(CallErrorKind::InvalidValue {
                    value: label,
                    reason: "duplicate label".into(),
                }));
            }
            let value = decimal(&value).map_err(e)?;
            values.push(LabeledValue { label, value });
        }
        Ok(values)
    }

    /// `forecast.forecast`: per-inferer forecasted losses (only for the given inferers).
    pub async fn forecast(
        &self,
        ctx: &CallContext,
        inferers: &[String],
    ) -> Result<Vec<ForecastValue>, CallError> {
        let role = Role::Forecast;
        let (invoked, (res,)) = self
            .invoke::<_, ForecastResult>(
                ctx,
                role,
                &self.inner.exports.forecast,
                (wit_ctx(ctx), inferers.to_vec()),
            )
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &invoked, m))?;
        let mut out = Output::new(&self.inner.limits);
        let e = |k| self.err(ctx, role, k);
        out.check_len(list.len()).map_err(e)?;
        let known: HashSet<&str> = inferers.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        let mut values = Vec::with_capacity(list.len());
        for item in list {
            let inferer = out.string(item.inferer).map_err(e)?;
            let value = out.string(item.value).map_err(e)?;
            check_name(&inferer, "inferer", MAX_INFERER).map_err(e)?;
            if !known.contains(inferer.as_str()) {
                return Err(e(CallErrorKind::InvalidValue {
                    value: inferer,
                    reason: "not one of the inferers passed in".into(),
                }));
            }
            if !seen.insert(inferer.clone()) {
                return Err(e(CallErrorKind::InvalidValue {
                    value: inferer,
                    reason: "duplicate inferer".into(),
                }));
            }
            let value = decimal(&value).map_err(e)?;
            values.push(ForecastValue { inferer, value });
        }
        Ok(values)
    }

    /// `ground-truth.ground-truth`: the true value in canonical decimal form.
    pub async fn ground_truth(&self, ctx: &CallContext) -> Result<String, CallError> {
        let role = Role::GroundTruth;
        let (invoked, (res,)) = self
            .invoke::<_, TruthResult>(ctx, role, &self.inner.exports.ground_truth, (wit_ctx(ctx),))
            .await?;
        let s = res.map_err(|m| self.guest_err(ctx, role, &invoked, m))?;
        let e = |k| self.err(ctx, role, k);
        let value = Output::new(&self.inner.limits).string(s).map_err(e)?;
        decimal(&value).map_err(e)
    }

    /// `loss.loss`: one raw loss per prediction, in order, in canonical decimal form.
    pub async fn loss(
        &self,
        ctx: &CallContext,
        ground_truth: &str,
        predictions: &[String],
    ) -> Result<Vec<String>, CallError> {
        let role = Role::Loss;
        let (invoked, (res,)) = self
            .invoke::<_, LossResult>(
                ctx,
                role,
                &self.inner.exports.loss,
                (wit_ctx(ctx), ground_truth.to_string(), predictions.to_vec()),
            )
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &invoked, m))?;
        let mut out = Output::new(&self.inner.limits);
        let e = |k| self.err(ctx, role, k);
        out.check_len(list.len()).map_err(e)?;
        if list.len() != predictions.len() {
            return Err(e(CallErrorKind::Output(format!(
                "returned {} losses for {} predictions",
                list.len(),
                predictions.len()
            ))));
        }
        let mut losses = Vec::with_capacity(list.len());
        for s in list {
            let v = out.string(s).map_err(e)?;
            losses.push(decimal(&v).map_err(e)?);
        }
        Ok(losses)
    }

    /// `loss.never-negative`: whether the node should submit log10 of the losses.
    pub async fn loss_never_negative(&self, ctx: &CallContext) -> Result<bool, CallError> {
        let role = Role::Loss;
        let (invoked, (res,)) = self
            .invoke::<_, NeverNegativeResult>(
                ctx,
                role,
                &self.inner.exports.never_negative,
                (wit_ctx(ctx),),
            )
            .await?;
        res.map_err(|m| self.guest_err(ctx, role, &invoked, m))
    }
}
