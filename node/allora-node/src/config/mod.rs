//! Node configuration: the Go off-chain node's `config.json`, accepted as is, plus adapter
//! blocks. Two phases keep errors useful: `raw` (serde, unknown fields rejected with their
//! JSON path) and `plan` (validated, typed, every problem reported at once, each naming the
//! field and the fix). `source` decides where the JSON comes from.

pub mod defaults;
pub mod plan;
pub mod raw;
pub mod source;

use std::fmt;
use std::path::Path;

pub use plan::{
    AdapterPlan, BatchPolicy, DEFAULT_WALLET, FeePlan, GasLimit, GasPrice, HostAllowlist,
    KeySource, LossOptions, LossPlan, NodePlan, Plan, ReputerPlan, RestartPolicy, RetryPolicy,
    SignerPlan, WalletPlan, WorkerPlan,
};
pub use source::{ConfigSource, ENV_CONFIG_FILE, ENV_CONFIG_JSON, ENV_MNEMONIC};

/// One problem in the config: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// JSON path, e.g. `worker[1].loopSeconds`.
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl ConfigIssue {
    pub fn new(
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.path, self.message, self.fix)
    }
}

/// Why a config could not be turned into a [`Plan`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No source was given (no env var, no `--config`).
    #[error(
        "no config: set {ENV_CONFIG_JSON} (JSON text) or {ENV_CONFIG_FILE} (a path), or pass --config <file>"
    )]
    NoSource,
    /// The source could not be read.
    #[error("cannot read config {origin}: {reason}")]
    Unreadable { origin: String, reason: String },
    /// One or more problems in the content; all of them are listed.
    #[error("{} problem(s) in config {origin}:\n{}", issues.len(), render(issues))]
    Invalid {
        origin: String,
        issues: Vec<ConfigIssue>,
    },
}

impl ConfigError {
    /// The issues, if the content was the problem.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}

fn render(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates JSON text. `base_dir` resolves relative paths (the config file's
/// directory, or the working directory for inline JSON).
pub fn load_str(text: &str, origin: &str, base_dir: &Path) -> Result<Plan, ConfigError> {
    let raw = raw::parse(text).map_err(|issues| ConfigError::Invalid {
        origin: origin.to_string(),
        issues,
    })?;
    plan::validate(&raw, base_dir, &plan::Env::from_process()).map_err(|issues| {
        ConfigError::Invalid {
            origin: origin.to_string(),
            issues,
        }
    })
}

/// Resolves the source (env JSON > env path > `--config`), reads, parses and validates it.
pub fn load(cli_path: Option<&Path>) -> Result<Plan, ConfigError> {
    let src = ConfigSource::resolve(cli_path).ok_or(ConfigError::NoSource)?;
    let (text, base) = src.read()?;
    load_str(&text, &src.describe(), &base)
}
