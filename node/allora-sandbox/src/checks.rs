//! Checks and classifications of a call's inputs and outputs: the signature check at load,
//! the WIT call context, output caps, label and decimal validation, the host copy budget,
//! and turning a wasmtime error into a [`CallErrorKind`].

use std::time::Duration;

use wasmtime::component::{ComponentExportIndex, ComponentNamedList, Lift, Lower};
use wasmtime::{Store, Trap};

use super::error::CallErrorKind;
use super::exports::WitCallContext;
use super::host_log::truncate;
use super::state::CallState;
use super::text::{escape_for_log, first_hidden};
use super::values::canonical_decimal;
use super::{CallContext, Limits};

/// Longest adapter error message kept.
pub(super) const MAX_GUEST_ERROR: usize = 2048;

pub(super) fn check<P, R>(
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

pub(super) fn wit_ctx(ctx: &CallContext) -> WitCallContext {
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

pub(super) fn decimal(v: &str) -> Result<String, CallErrorKind> {
    canonical_decimal(v).map_err(|reason| CallErrorKind::InvalidValue {
        value: truncate(v, 64).to_string(),
        reason,
    })
}

/// Labels and inferer names are signed and displayed: refuse empty or long ones and any
/// control, format (bidi overrides, zero-width) or line-separator character.
pub(super) fn check_name(s: &str, what: &str, max: usize) -> Result<(), CallErrorKind> {
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
pub(super) struct Output {
    max_list: u64,
    max_bytes: u64,
    used: u64,
}

impl Output {
    pub(super) fn new(limits: &Limits) -> Output {
        Output {
            max_list: u64::from(limits.max_list_len),
            max_bytes: limits.max_output_bytes,
            used: 0,
        }
    }

    pub(super) fn check_len(&self, n: usize) -> Result<(), CallErrorKind> {
        if n as u64 > self.max_list {
            return Err(CallErrorKind::Output(format!(
                "list of {n} elements exceeds the limit of {}",
                self.max_list
            )));
        }
        Ok(())
    }

    pub(super) fn string(&mut self, text: String) -> Result<String, CallErrorKind> {
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
pub(super) fn classify(
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
