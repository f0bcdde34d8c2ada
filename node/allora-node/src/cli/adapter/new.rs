//! `allora-node adapter new`: scaffolds a buildable adapter project in Rust, Python,
//! JavaScript or Go — sources implementing the chosen roles with a small working example, the
//! WIT contract (this binary's embedded copy of `wit/`), a `build.sh` that produces the `.wasm`
//! component, and a README. Everything comes from templates compiled into the binary, so the
//! command works from an installed binary with no repository checkout.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use allora_sandbox::Role;

use super::templates::{self, Lang};

/// Arguments of `adapter new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Project name: lowercase letters, digits and '-', starting with a letter (at most 64).
    pub name: String,
    /// Language of the project.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Role to implement (repeatable or comma-separated): inference, forecast, ground-truth,
    /// loss, worker (= inference + forecast), reputer (= ground-truth + loss). Default: inference.
    #[arg(long = "role", value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Directory to create the project in (default: ./NAME); must be absent or empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Why a project was not scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The name would not make a valid crate, Python/Go module, npm package and file name.
    #[error(
        "invalid adapter name {0:?}: use 1-64 lowercase letters, digits and '-', starting with a letter and not ending with '-'"
    )]
    InvalidName(String),
    /// A `--role` value that is neither a role nor `worker`/`reputer`.
    #[error("unknown role {0:?}: use inference, forecast, ground-truth, loss, worker or reputer")]
    UnknownRole(String),
    /// The target directory has files in it; scaffolding never overwrites anything.
    #[error("{} exists and is not empty; refusing to overwrite it", .0.display())]
    NotEmpty(PathBuf),
    /// The target exists and is a file.
    #[error("{} exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// Creating a directory or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being created or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// What the templates are rendered from.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The project name as given (`my-model`).
    pub name: String,
    /// `name` with '-' → '_': the Rust crate, Python-safe and component file name.
    pub ident: String,
    /// The roles, in `Role::ALL` order.
    pub roles: Vec<Role>,
    /// The WIT world the component targets (`inferer`, `reputer`, … or `scaffold`).
    pub world: String,
    /// A world definition to add to the project's `wit/` when no shipped world has exactly
    /// these roles.
    pub custom_world: Option<String>,
}

impl Scaffold {
    /// Validates the name and resolves the roles to a world.
    pub fn new(name: &str, roles: &[String]) -> Result<Scaffold, NewError> {
        validate_name(name)?;
        let roles = parse_roles(roles)?;
        let (world, custom_world) = world_for(&roles);
        Ok(Scaffold {
            name: name.to_string(),
            ident: name.replace('-', "_"),
            roles,
            world,
            custom_world,
        })
    }

    /// Whether the project implements `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The roles joined with ", " (for comments and READMEs).
    pub fn role_list(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks the project name: it becomes a directory, a Cargo package, an npm package, a Go
/// module path and (with '_') a Rust/Python identifier, so only the common subset is allowed.
pub fn validate_name(name: &str) -> Result<(), NewError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(NewError::InvalidName(name.to_string()))
    }
}

/// Expands `worker`/`reputer`, parses the rest, dedups and orders; none means inference.
pub fn parse_roles(values: &[String]) -> Result<Vec<Role>, NewError> {
    let mut set = BTreeSet::new();
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        match v.to_ascii_lowercase().as_str() {
            "worker" => set.extend([Role::Inference, Role::Forecast]),
            "reputer" => set.extend([Role::GroundTruth, Role::Loss]),
            _ => {
                set.insert(
                    v.parse::<Role>()
                        .map_err(|_| NewError::UnknownRole(v.to_string()))?,
                );
            }
        }
    }
    if set.is_empty() {
        set.insert(Role::Inference);
    }
    Ok(Role::ALL.into_iter().filter(|r| set.contains(r)).collect())
}

/// The shipped world (wit/worlds.wit) with exactly these exports, or a generated `scaffold`
/// world for any other combination.
fn world_for(roles: &[Role]) -> (String, Option<String>) {
    use Role::*;
    let shipped = match roles {
        [Inference] => Some("inferer"),
        [Forecast] => Some("forecaster"),
        [Inference, Forecast] => Some("worker"),
        [GroundTruth] => Some("truth-source"),
        [Loss] => Some("loss-function"),
        [GroundTruth, Loss] => Some("reputer"),
        [Inference, Forecast, GroundTruth] => Some("source"),
        [Inference, Forecast, GroundTruth, Loss] => Some("full"),
        _ => None,
    };
    if let Some(w) = shipped {
        return (w.to_string(), None);
    }
    let exports: String = roles
        .iter()
        .map(|r| format!("    export {};\n", r.as_str()))
        .collect();
    let wit = format!(
        "package allora:adapter@0.1.0;\n\n/// The roles `allora-node adapter new` was asked for.\nworld scaffold {{\n    include host;\n{exports}}}\n"
    );
    ("scaffold".to_string(), Some(wit))
}

/// Runs `adapter new`; returns the exit code.
pub fn run(a: NewArgs) -> anyhow::Result<i32> {
    let scaffold = Scaffold::new(&a.name, &a.roles)?;
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
    let files = templates::render(a.lang, &scaffold);
    write_project(&dir, &files)?;
    tracing::debug!(dir = %dir.display(), files = files.len(), lang = ?a.lang, "adapter scaffolded");
    println!(
        "created {} ({} adapter, world allora:adapter/{}, roles: {})",
        dir.display(),
        a.lang.as_str(),
        scaffold.world,
        scaffold.role_list()
    );
    println!("build:   cd {} && ./build.sh", dir.display());
    println!(
        "try it:  allora-node adapter inspect {}/{}.wasm   (README.md has run commands)",
        dir.display(),
        scaffold.ident
    );
    Ok(0)
}

/// Writes every file, refusing a target that exists and is not an empty directory.
pub fn write_project(dir: &Path, files: &[templates::File]) -> Result<(), NewError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(NewError::NotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(_) if dir.exists() => return Err(NewError::NotADirectory(dir.to_path_buf())),
        Err(e) => return Err(io_err(dir)(e)),
    }
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::write(&path, &f.contents).map_err(io_err(&path))?;
        if f.executable {
            set_executable(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for good in ["a", "my-model", "eth-1h-v2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "My", "1x", "-x", "x-", "a--b", "a_b", "a.b", "../x", "a b",
        ] {
            assert!(
                matches!(validate_name(bad), Err(NewError::InvalidName(_))),
                "{bad}"
            );
        }
        assert!(validate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn roles_map_to_worlds() {
        let world = |r: &[&str]| {
            let roles: Vec<String> = r.iter().map(|s| s.to_string()).collect();
            Scaffold::new("x", &roles).map(|s| (s.world, s.custom_world.is_some()))
        };
        assert_eq!(world(&[]).unwrap(), ("inferer".into(), false));
        assert_eq!(world(&["worker"]).unwrap(), ("worker".into(), false));
        assert_eq!(
            world(&["loss", "ground-truth"]).unwrap(),
            ("reputer".into(), false)
        );
        assert_eq!(
            world(&["worker", "reputer"]).unwrap(),
            ("full".into(), false)
        );
        assert_eq!(
            world(&["inference", "loss"]).unwrap(),
            ("scaffold".into(), true)
        );
        assert!(matches!(world(&["oracle"]), Err(NewError::UnknownRole(_))));
    }

    #[test]
    fn refuses_a_non_empty_directory() {
        let dir = std::env::temp_dir().join(format!("allora-new-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.txt"), "mine").unwrap();
        let files = vec![templates::File {
            path: "keep.txt".into(),
            contents: b"overwritten".to_vec(),
            executable: false,
        }];
        assert!(matches!(
            write_project(&dir, &files),
            Err(NewError::NotEmpty(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
            "mine"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
