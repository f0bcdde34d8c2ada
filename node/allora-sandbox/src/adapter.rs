//! Loading a component for its configured roles, and calling it: fresh `Store` per call,
//! deadline, memory limiter, lazy lifting with output caps, and value validation.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{ComponentExportIndex, ComponentNamedList, InstancePre, Lift, Lower};
use wasmtime::{Store, Trap};

use super::cache::Source;
use super::compile::compile;
use super::engine::ticks_for;
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
use super::state::{CallState, HttpState, HttpTags, Limiter, LogCtx};
use super::text::{escape_for_log, first_hidden};
use super::values::canonical_decimal;
use super::{AdapterRuntime, AdapterSpec, CallContext, ForecastValue, LabeledValue, Limits, Role};

/// Table elements a guest may grow to (interpreters need large function tables).
const MAX_TABLE_ELEMENTS: usize = 200_000;
/// Longest adapter error message kept.
const MAX_GUEST_ERROR: usize = 2048;
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
}

pub(super) async fn load(rt: &AdapterRuntime, spec: AdapterSpec) -> Result<Adapter, LoadError> {
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
    let adapter = Adapter {
        inner: Arc::new(Inner {
            name: name.as_str().into(),
            pre,
            exports: role_exports,
            roles: spec.roles.clone(),
            limits: spec.limits,
            allow: Arc::new(spec.allowed_hosts),
            clients: Arc::default(),
            mounts: spec.mounts.into(),
            info,
        }),
    };
    adapter.trial().await?;
    tracing::debug!(adapter = %name, source = ?info.source, compile_ms = info.compile_time.as_millis() as u64, "adapter loaded");
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

    /// Instantiates once and type-checks every configured role's functions, so a component
    /// built against another WIT version fails at load.
    async fn trial(&self) -> Result<(), LoadError> {
        let ctx = CallContext::default();
        let role = self.inner.roles[0];
        let inst_err = |reason: String| LoadError::Instantiate {
            adapter: self.inner.name.to_string(),
            reason,
        };
        let (mut store, deadline) = self.new_store(&ctx, role).map_err(inst_err)?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let instance =
            match tokio::time::timeout(remaining, self.inner.pre.instantiate_async(&mut store))
                .await
            {
                Err(_) => return Err(inst_err("timed out".into())),
                Ok(Err(e)) => {
                    let kind = classify(e, &store, &self.inner.limits, remaining);
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
                    check::<(WitCallContext,), InferResult>(&instance, &mut store, &ex.infer)
                        .map_err(sig)?
                }
                Role::Forecast => check::<(WitCallContext, Vec<String>), ForecastResult>(
                    &instance,
                    &mut store,
                    &ex.forecast,
                )
                .map_err(sig)?,
                Role::GroundTruth => {
                    check::<(WitCallContext,), TruthResult>(&instance, &mut store, &ex.ground_truth)
                        .map_err(sig)?
                }
                Role::Loss => {
                    check::<(WitCallContext, String, Vec<String>), LossResult>(
                        &instance, &mut store, &ex.loss,
                    )
                    .map_err(sig)?;
                    check::<(WitCallContext,), NeverNegativeResult>(
                        &instance,
                        &mut store,
                        &ex.never_negative,
                    )
                    .map_err(sig)?;
                }
            }
        }
        Ok(())
    }

    fn new_store(
        &self,
        ctx: &CallContext,
        role: Role,
    ) -> Result<(Store<CallState>, Instant), String> {
        let limits = &self.inner.limits;
        let now = Instant::now();
        let mut deadline = now + limits.timeout;
        if let Some(d) = ctx.deadline {
            deadline = deadline.min(d);
        }
        let state = CallState::new(
            Limiter::new(
                usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
                MAX_TABLE_ELEMENTS,
            ),
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
        )?;
        let mut store = Store::new(self.inner.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(hostcall_fuel(limits));
        store.set_epoch_deadline(ticks_for(deadline.saturating_duration_since(now)));
        Ok((store, deadline))
    }

    fn err(&self, ctx: &CallContext, role: Role, kind: CallErrorKind) -> CallError {
        CallError {
            adapter: self.inner.name.to_string(),
            topic_id: ctx.topic_id,
            role,
            kind,
        }
    }

    /// Instantiates into a fresh store and calls one export under the deadline.
    async fn invoke<P, R>(
        &self,
        ctx: &CallContext,
        role: Role,
        idx: &Option<ComponentExportIndex>,
        params: P,
    ) -> Result<(Store<CallState>, R), CallError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let Some(idx) = idx else {
            return Err(self.err(ctx, role, CallErrorKind::NotExported));
        };
        let (mut store, deadline) = self
            .new_store(ctx, role)
            .map_err(|m| self.err(ctx, role, CallErrorKind::Instantiate(m)))?;
        let budget = deadline.saturating_duration_since(Instant::now());
        let pre = &self.inner.pre;
        let run = async {
            let instance = pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| (true, e))?;
            let func = instance
                .get_typed_func::<P, R>(&mut store, idx)
                .map_err(|e| (true, e))?;
            func.call_async(&mut store, params)
                .await
                .map_err(|e| (false, e))
        };
        // Host calls (http) are not interrupted by epochs; this outer timeout bounds them.
        let outcome = tokio::time::timeout_at(deadline.into(), run).await;
        store.data().flush_stdio();
        match outcome {
            Err(_) => Err(self.err(ctx, role, CallErrorKind::Timeout(budget))),
            Ok(Err((instantiating, e))) => {
                let kind = classify(e, &store, &self.inner.limits, budget);
                let kind = match kind {
                    CallErrorKind::Trap(m) if instantiating => CallErrorKind::Instantiate(m),
                    k => k,
                };
                Err(self.err(ctx, role, kind))
            }
            Ok(Ok(r)) => Ok((store, r)),
        }
    }

    /// Maps the adapter's own `err` string, classifying it as "http" if a request failed.
    fn guest_err(
        &self,
        ctx: &CallContext,
        role: Role,
        store: &Store<CallState>,
        msg: String,
    ) -> CallError {
        let message = truncate(&msg, MAX_GUEST_ERROR).to_string();
        let kind = match store.data().http.last_error() {
            Some(http) => CallErrorKind::Http { http, message },
            None => CallErrorKind::Adapter(message),
        };
        self.err(ctx, role, kind)
    }

    /// `inference.infer`: labelled values in canonical decimal form.
    pub async fn infer(&self, ctx: &CallContext) -> Result<Vec<LabeledValue>, CallError> {
        let role = Role::Inference;
        let (store, (res,)) = self
            .invoke::<_, InferResult>(ctx, role, &self.inner.exports.infer, (wit_ctx(ctx),))
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &store, m))?;
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
        let (store, (res,)) = self
            .invoke::<_, ForecastResult>(
                ctx,
                role,
                &self.inner.exports.forecast,
                (wit_ctx(ctx), inferers.to_vec()),
            )
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &store, m))?;
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
        let (store, (res,)) = self
            .invoke::<_, TruthResult>(ctx, role, &self.inner.exports.ground_truth, (wit_ctx(ctx),))
            .await?;
        let s = res.map_err(|m| self.guest_err(ctx, role, &store, m))?;
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
        let (store, (res,)) = self
            .invoke::<_, LossResult>(
                ctx,
                role,
                &self.inner.exports.loss,
                (wit_ctx(ctx), ground_truth.to_string(), predictions.to_vec()),
            )
            .await?;
        let list = res.map_err(|m| self.guest_err(ctx, role, &store, m))?;
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
        let (store, (res,)) = self
            .invoke::<_, NeverNegativeResult>(
                ctx,
                role,
                &self.inner.exports.never_negative,
                (wit_ctx(ctx),),
            )
            .await?;
        res.map_err(|m| self.guest_err(ctx, role, &store, m))
    }
}

fn check<P, R>(
    instance: &wasmtime::component::Instance,
    store: &mut Store<CallState>,
    idx: &Option<ComponentExportIndex>,
) -> wasmtime::Result<()>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + Lift,
{
    let idx = idx
        .as_ref()
        .ok_or_else(|| wasmtime::format_err!("export missing"))?;
    instance.get_typed_func::<P, R>(store, idx).map(|_| ())
}

fn wit_ctx(ctx: &CallContext) -> WitCallContext {
    WitCallContext {
        topic_id: ctx.topic_id,
        nonce: ctx.nonce,
        params: ctx
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn decimal(v: &str) -> Result<String, CallErrorKind> {
    canonical_decimal(v).map_err(|reason| CallErrorKind::InvalidValue {
        value: truncate(v, 64).to_string(),
        reason,
    })
}

/// Labels and inferer names are signed and displayed: refuse empty or long ones and any
/// control, format (bidi overrides, zero-width) or line-separator character.
fn check_name(s: &str, what: &str, max: usize) -> Result<(), CallErrorKind> {
    let shown = || escape_for_log(truncate(s, 64)).into_owned();
    if s.is_empty() || s.len() > max {
        return Err(CallErrorKind::InvalidValue {
            value: shown(),
            reason: format!("{what} must be 1..={max} bytes"),
        });
    }
    if let Some(c) = first_hidden(s) {
        return Err(CallErrorKind::InvalidValue {
            value: shown(),
            reason: format!(
                "{what} contains the invisible or control character U+{:04X}; labels may not contain control, format (bidi, zero-width) or separator characters",
                u32::from(c)
            ),
        });
    }
    Ok(())
}

/// Output caps of one result: list length and total string bytes, checked before copying.
struct Output {
    max_list: u64,
    max_bytes: u64,
    used: u64,
}

impl Output {
    fn new(limits: &Limits) -> Output {
        Output {
            max_list: u64::from(limits.max_list_len),
            max_bytes: limits.max_output_bytes,
            used: 0,
        }
    }

    fn check_len(&self, n: usize) -> Result<(), CallErrorKind> {
        if n as u64 > self.max_list {
            return Err(CallErrorKind::Output(format!(
                "list of {n} elements exceeds the limit of {}",
                self.max_list
            )));
        }
        Ok(())
    }

    fn string(&mut self, text: String) -> Result<String, CallErrorKind> {
        self.used += text.len() as u64;
        if self.used > self.max_bytes {
            return Err(CallErrorKind::Output(format!(
                "result exceeds the output limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(text)
    }
}

/// Host bytes one guest→host transfer (a call's result, or one host-import call) may make
/// the host allocate: the output caps plus list bookkeeping, at least enough for an HTTP
/// request body. wasmtime checks it while lifting, *before* copying, so an oversized result
/// is refused without the host ever holding it (its default is 128 MiB).
pub(super) fn hostcall_fuel(limits: &Limits) -> usize {
    // Host bytes per returned list element (a `LabeledValue` is two `String`s).
    const PER_ELEMENT: u64 = 64;
    const FLOOR: u64 = 4 << 20;
    let budget = limits
        .max_output_bytes
        .saturating_add(u64::from(limits.max_list_len).saturating_mul(PER_ELEMENT))
        .saturating_add(64 << 10)
        .max(FLOOR);
    usize::try_from(budget).unwrap_or(usize::MAX)
}

/// Turns a wasmtime error into a call error kind using what the store observed.
fn classify(
    e: wasmtime::Error,
    store: &Store<CallState>,
    limits: &Limits,
    budget: Duration,
) -> CallErrorKind {
    if store.data().limiter.hit {
        return CallErrorKind::Memory {
            limit_bytes: limits.memory_bytes,
        };
    }
    if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return CallErrorKind::Timeout(budget);
    }
    // wasmtime's hostcall-fuel error type is private; its message is stable.
    if format!("{e:#}").contains("fuel allocated for hostcalls has been exhausted") {
        return CallErrorKind::Output(format!(
            "result exceeds the host copy budget of {} bytes (output limit {} bytes, {} list elements) and was refused before copying",
            hostcall_fuel(limits),
            limits.max_output_bytes,
            limits.max_list_len
        ));
    }
    CallErrorKind::Trap(truncate(&format!("{e:#}"), MAX_GUEST_ERROR).to_string())
}
