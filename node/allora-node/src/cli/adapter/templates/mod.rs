//! The project templates behind `adapter new`, compiled into the binary: one submodule per
//! language producing that language's files, plus what every project shares — the WIT
//! contract and the README. Placeholders are `{{name}}`, `{{ident}}`, `{{world}}` and
//! `{{roles}}`; role-specific code is assembled from per-role snippets.

mod go;
mod js;
mod python;
mod readme;
mod rust;

use allora_sandbox::Role;

use super::new::Scaffold;

/// A language `adapter new` can scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with wit-bindgen (`cargo build --target wasm32-wasip2`).
    Rust,
    /// Python with componentize-py.
    Python,
    /// JavaScript with componentize-js.
    Js,
    /// Go with Go's own compiler (wasip1 reactor) and wasm-tools.
    Go,
}

impl Lang {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::Go => "go",
        }
    }
}

/// One file of a scaffolded project, path relative to the project directory.
#[derive(Debug, Clone)]
pub struct File {
    /// Relative path (`/`-separated).
    pub path: String,
    /// The file's bytes.
    pub contents: Vec<u8>,
    /// Whether to mark it executable (build scripts).
    pub executable: bool,
}

impl File {
    fn text(path: &str, text: String) -> File {
        File {
            path: path.to_string(),
            contents: text.into_bytes(),
            executable: false,
        }
    }

    fn script(path: &str, text: String) -> File {
        File {
            executable: true,
            ..File::text(path, text)
        }
    }
}

/// The WIT contract as shipped in the repository's `wit/`, embedded at build time so that a
/// scaffolded project always matches the node that created it.
const WIT: [(&str, &str); 5] = [
    (
        "wit/types.wit",
        include_str!("../../../../../../wit/types.wit"),
    ),
    (
        "wit/host.wit",
        include_str!("../../../../../../wit/host.wit"),
    ),
    (
        "wit/roles.wit",
        include_str!("../../../../../../wit/roles.wit"),
    ),
    (
        "wit/worlds.wit",
        include_str!("../../../../../../wit/worlds.wit"),
    ),
    (
        "wit/README.md",
        include_str!("../../../../../../wit/README.md"),
    ),
];

/// Renders every file of a `lang` project.
pub fn render(lang: Lang, s: &Scaffold) -> Vec<File> {
    let mut files: Vec<File> = WIT
        .iter()
        .map(|(path, text)| File::text(path, text.to_string()))
        .collect();
    if let Some(world) = &s.custom_world {
        files.push(File::text("wit/scaffold.wit", world.clone()));
    }
    files.extend(match lang {
        Lang::Rust => rust::files(s),
        Lang::Python => python::files(s),
        Lang::Js => js::files(s),
        Lang::Go => go::files(s),
    });
    files.push(File::text("README.md", readme::render(lang, s)));
    files
}

/// Fills the placeholders every template may use.
fn fill(template: &str, s: &Scaffold) -> String {
    template
        .replace("{{name}}", &s.name)
        .replace("{{ident}}", &s.ident)
        .replace("{{world}}", &s.world)
        .replace("{{roles}}", &s.role_list())
}

/// Concatenates the snippets of the roles the project implements, in role order.
fn role_snippets(s: &Scaffold, snippet: impl Fn(Role) -> &'static str) -> String {
    s.roles
        .iter()
        .map(|r| snippet(*r))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaffold(roles: &[&str]) -> Scaffold {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        Scaffold::new("demo-model", &roles).unwrap()
    }

    #[test]
    fn every_language_fills_every_placeholder_and_ships_the_wit() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js, Lang::Go] {
            for roles in [
                &["inference"][..],
                &["worker", "reputer"],
                &["forecast", "loss"],
            ] {
                let files = render(lang, &scaffold(roles));
                for f in &files {
                    let text = String::from_utf8_lossy(&f.contents);
                    // Go composite literals legitimately contain "{{": look for the names.
                    let placeholders = [
                        "{{name}}",
                        "{{ident}}",
                        "{{world}}",
                        "{{roles}}",
                        "{{go_tags}}",
                    ];
                    assert!(
                        !placeholders.iter().any(|p| text.contains(p)),
                        "{lang:?} {}: unfilled placeholder",
                        f.path
                    );
                }
                for (path, _) in WIT {
                    assert!(files.iter().any(|f| f.path == path), "{lang:?}: {path}");
                }
                assert!(files.iter().any(|f| f.path == "build.sh" && f.executable));
                assert!(files.iter().any(|f| f.path == "README.md"));
            }
        }
    }
}
