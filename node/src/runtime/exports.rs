//! The role ↔ export mapping of the WIT contract, the export check done at load time, and
//! the component-level types the host lowers/lifts when calling a role.
//!
//! Results are lifted lazily ([`WasmList`], [`WasmStr`]): the host sees a list's length and a
//! string's size before copying anything, so a guest returning a million elements or a
//! 100 MB string is rejected without the host allocating for it.

use wasmtime::Engine;
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentType, Lift, Lower, WasmList, WasmStr,
};

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

/// `labeled-value` as lifted lazily from the guest.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct RawLabeled {
    pub label: WasmStr,
    pub value: WasmStr,
}

/// `forecast-value` as lifted lazily from the guest.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct RawForecast {
    pub inferer: WasmStr,
    pub value: WasmStr,
}

pub type InferResult = (Result<WasmList<RawLabeled>, WasmStr>,);
pub type ForecastResult = (Result<WasmList<RawForecast>, WasmStr>,);
pub type TruthResult = (Result<WasmStr, WasmStr>,);
pub type LossResult = (Result<WasmList<WasmStr>, WasmStr>,);
pub type NeverNegativeResult = (Result<bool, WasmStr>,);
