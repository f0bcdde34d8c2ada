//! Where the config JSON comes from. Same precedence as the Go node, plus a CLI flag:
//! `ALLORA_OFFCHAIN_NODE_CONFIG_JSON` (inline JSON) replaces
//! `ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH`, which replaces `--config`. Sources never merge —
//! each one replaces the others completely, so what runs is exactly one document.

use std::path::{Path, PathBuf};

use super::ConfigError;

pub const ENV_CONFIG_JSON: &str = "ALLORA_OFFCHAIN_NODE_CONFIG_JSON";
pub const ENV_CONFIG_FILE: &str = "ALLORA_OFFCHAIN_NODE_CONFIG_FILE_PATH";
pub const ENV_MNEMONIC: &str = "ALLORA_OFFCHAIN_NODE_MNEMONIC";

/// The chosen config source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    InlineEnv(String),
    EnvPath(PathBuf),
    CliPath(PathBuf),
}

impl ConfigSource {
    /// Picks the source from the process environment and the CLI flag.
    pub fn resolve(cli_path: Option<&Path>) -> Option<Self> {
        Self::resolve_with(
            std::env::var(ENV_CONFIG_JSON).ok(),
            std::env::var(ENV_CONFIG_FILE).ok(),
            cli_path,
        )
    }

    /// Precedence logic, separated from the environment for testing. Empty values count as unset.
    pub fn resolve_with(
        env_json: Option<String>,
        env_path: Option<String>,
        cli_path: Option<&Path>,
    ) -> Option<Self> {
        if let Some(json) = env_json.filter(|s| !s.trim().is_empty()) {
            return Some(Self::InlineEnv(json));
        }
        if let Some(path) = env_path.filter(|s| !s.trim().is_empty()) {
            return Some(Self::EnvPath(PathBuf::from(path)));
        }
        cli_path.map(|p| Self::CliPath(p.to_path_buf()))
    }

    /// Human-readable origin for error messages (never the inline JSON itself: it may hold a mnemonic).
    pub fn describe(&self) -> String {
        match self {
            Self::InlineEnv(_) => format!("from ${ENV_CONFIG_JSON}"),
            Self::EnvPath(p) => format!("{} (from ${ENV_CONFIG_FILE})", p.display()),
            Self::CliPath(p) => format!("{} (from --config)", p.display()),
        }
    }

    /// Reads the text and the directory relative paths resolve against.
    pub fn read(&self) -> Result<(String, PathBuf), ConfigError> {
        match self {
            Self::InlineEnv(json) => Ok((
                json.clone(),
                std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            )),
            Self::EnvPath(p) | Self::CliPath(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Unreadable {
                    origin: self.describe(),
                    reason: e.to_string(),
                })?;
                let base = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."));
                Ok((text, base))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_json_wins_over_everything() {
        let s = ConfigSource::resolve_with(
            Some("{}".into()),
            Some("/a.json".into()),
            Some(Path::new("/b.json")),
        );
        assert_eq!(s, Some(ConfigSource::InlineEnv("{}".into())));
    }

    #[test]
    fn env_path_wins_over_flag_and_empty_values_are_unset() {
        let s = ConfigSource::resolve_with(
            Some("  ".into()),
            Some("/a.json".into()),
            Some(Path::new("/b.json")),
        );
        assert_eq!(s, Some(ConfigSource::EnvPath("/a.json".into())));
        let s = ConfigSource::resolve_with(None, Some(String::new()), Some(Path::new("/b.json")));
        assert_eq!(s, Some(ConfigSource::CliPath("/b.json".into())));
        assert_eq!(ConfigSource::resolve_with(None, None, None), None);
    }

    #[test]
    fn describe_never_echoes_inline_json() {
        let s =
            ConfigSource::InlineEnv("{\"wallet\":{\"addressRestoreMnemonic\":\"secret\"}}".into());
        assert!(!s.describe().contains("secret"));
    }
}
