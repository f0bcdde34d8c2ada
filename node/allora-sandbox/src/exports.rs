//! The role ↔ export mapping of the WIT contract, the export check done at load time, and
//! the component-level types the host lowers/lifts when calling a role.
//!
//! Results are lifted eagerly: wasmtime 48 runs the guest's post-return (which frees the
//! result) right after lifting, so lazy `WasmList`/`WasmStr` views would point at freed
//! memory. The host copy is bounded by the guest's own memory limit, and the output caps are
//! applied to the copy before anything else uses it.

use wasmtime::Engine;
use wasmtime::component::{Component, ComponentExportIndex, ComponentType, Lift, Lower};

use super::Role;

/// The WIT package name.
pub const PACKAGE: &str = "allora:adapter";
/// The WIT package version this node implements.
pub const VERSION: &str = "0.1.0";

impl Role {
    /// The WIT interface a component exports for this role.
    pub fn interface(self) -> &'static str {
        match self {
            Role::Inference => "inference",
            Role::Forecast => "forecast",
            Role::GroundTruth => "ground-truth",
            Role::Loss => "loss",
        }
    }

    /// The fully-qualified export name, e.g. `allora:adapter/inference@0.1.0`.
    pub fn export_name(self) -> String {
        format!("{PACKAGE}/{}@{VERSION}", self.interface())
    }

    /// The functions the role's interface must export.
    fn functions(self) -> &'static [&'static str] {
        match self {
            Role::Inference => &["infer"],
            Role::Forecast => &["forecast"],
            Role::GroundTruth => &["ground-truth"],
            Role::Loss => &["loss", "never-negative"],
        }
    }
}

/// Export indices of the functions of every role a component was loaded for.
#[derive(Debug, Clone, Default)]
pub struct RoleExports {
    pub infer: Option<ComponentExportIndex>,
    pub forecast: Option<ComponentExportIndex>,
    pub ground_truth: Option<ComponentExportIndex>,
    pub loss: Option<ComponentExportIndex>,
    pub never_negative: Option<ComponentExportIndex>,
}

/// Finds a role's functions; `Err(name)` names the first missing export.
pub fn find(component: &Component, role: Role) -> Result<Vec<ComponentExportIndex>, String> {
    let iface_name = role.export_name();
    let iface = component
        .get_export_index(None, iface_name.as_str())
        .ok_or_else(|| iface_name.clone())?;
    role.functions()
        .iter()
        .map(|f| {
            component
                .get_export_index(Some(&iface), f)
                .ok_or_else(|| format!("{iface_name}#{f}"))
        })
        .collect()
}

/// Records found indices for `role`.
pub fn record(exports: &mut RoleExports, role: Role, idx: Vec<ComponentExportIndex>) {
    let mut it = idx.into_iter();
    match role {
        Role::Inference => exports.infer = it.next(),
        Role::Forecast => exports.forecast = it.next(),
        Role::GroundTruth => exports.ground_truth = it.next(),
        Role::Loss => {
            exports.loss = it.next();
            exports.never_negative = it.next();
        }
    }
}

/// What `adapter inspect` reports: every `allora:adapter` interface the component exports
/// or imports, with versions, and the roles it can serve.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    pub roles: Vec<Role>,
}

/// Lists the component's exports/imports and the roles this node can call on it.
pub fn inspect(engine: &Engine, component: &Component) -> Inspection {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let roles = Role::ALL
        .into_iter()
        .filter(|r| find(component, *r).is_ok())
        .collect();
    Inspection {
        exports,
        imports,
        roles,
    }
}

/// `call-context` as lowered into the guest.
#[derive(ComponentType, Lower, Clone, Debug)]
#[component(record)]
pub struct WitCallContext {
    #[component(name = "topic-id")]
    pub topic_id: u64,
    pub nonce: i64,
    pub params: Vec<(String, String)>,
}

/// `labeled-value` as lifted from the guest.
#[derive(ComponentType, Lift, Debug)]
#[component(record)]
pub struct RawLabeled {
    pub label: String,
    pub value: String,
}

/// `forecast-value` as lifted from the guest.
#[derive(ComponentType, Lift, Debug)]
#[component(record)]
pub struct RawForecast {
    pub inferer: String,
    pub value: String,
}

pub type InferResult = (Result<Vec<RawLabeled>, String>,);
pub type ForecastResult = (Result<Vec<RawForecast>, String>,);
pub type TruthResult = (Result<String, String>,);
pub type LossResult = (Result<Vec<String>, String>,);
pub type NeverNegativeResult = (Result<bool, String>,);
