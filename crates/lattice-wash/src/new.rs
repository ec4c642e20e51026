//! `wash new component`: project templates compiled into wash.
//!
//! Each template is a list of files kept under `crates/lattice-wash/templates/`
//! (suffixed `.tmpl` where the real name would be picked up by the
//! repository's own tooling), with `{{name}}` replaced by the project name.
//! Every template's Cargo.toml declares its own `[workspace]`, so the project
//! builds with `wash build` wherever it is created.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The placeholder replaced by the project name.
const NAME_PLACEHOLDER: &str = "{{name}}";

/// A project template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// An HTTP component answering with a greeting (`wasm32-wasip2`).
    Hello,
    /// An HTTP component counting requests per path in `wasi:keyvalue`.
    KvCounter,
}

impl Template {
    /// Every template, in the order `--help` lists them.
    pub const ALL: [Template; 2] = [Template::Hello, Template::KvCounter];

    /// The template's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Template::Hello => "hello",
            Template::KvCounter => "kvcounter",
        }
    }

    /// The files of the template: path in the project and contents.
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Template::Hello => &[
                ("Cargo.toml", include_str!("../templates/hello/Cargo.toml.tmpl")),
                ("wasmcloud.toml", include_str!("../templates/hello/wasmcloud.toml.tmpl")),
                ("src/lib.rs", include_str!("../templates/hello/src/lib.rs.tmpl")),
                (".gitignore", include_str!("../templates/hello/gitignore.tmpl")),
            ],
            Template::KvCounter => &[
                ("Cargo.toml", include_str!("../templates/kvcounter/Cargo.toml.tmpl")),
                (
                    "wasmcloud.toml",
                    include_str!("../templates/kvcounter/wasmcloud.toml.tmpl"),
                ),
                (
                    "wasmcloud-preview1.toml",
                    include_str!("../templates/kvcounter/wasmcloud-preview1.toml.tmpl"),
                ),
                ("src/lib.rs", include_str!("../templates/kvcounter/src/lib.rs.tmpl")),
                (".gitignore", include_str!("../templates/kvcounter/gitignore.tmpl")),
                ("wit/world.wit", include_str!("../templates/kvcounter/wit/world.wit")),
                (
                    "wit/deps/keyvalue/world.wit",
                    include_str!("../templates/kvcounter/wit/deps/keyvalue/world.wit"),
                ),
                (
                    "wit/deps/keyvalue/store.wit",
                    include_str!("../templates/kvcounter/wit/deps/keyvalue/store.wit"),
                ),
                (
                    "wit/deps/keyvalue/atomics.wit",
                    include_str!("../templates/kvcounter/wit/deps/keyvalue/atomics.wit"),
                ),
                (
                    "wit/deps/keyvalue/batch.wit",
                    include_str!("../templates/kvcounter/wit/deps/keyvalue/batch.wit"),
                ),
                (
                    "wit/deps/keyvalue/watch.wit",
                    include_str!("../templates/kvcounter/wit/deps/keyvalue/watch.wit"),
                ),
            ],
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Template {
    type Err = NewError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| NewError::UnknownTemplate(s.to_string()))
    }
}

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewError {
    /// No template of that name.
    #[error("unknown template `{0}`: use one of hello, kvcounter")]
    UnknownTemplate(String),
    /// The name cannot be a Cargo package name.
    #[error(
        "`{0}` cannot be a project name: use ASCII letters, digits, `-` and `_`, starting with a letter \
         (e.g. my-component)"
    )]
    InvalidName(String),
    /// The project folder exists already.
    #[error("{} already exists: pick another name or remove it", .0.display())]
    Exists(PathBuf),
    /// Writing a file failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Checks that `name` is usable as a Cargo package and file name.
///
/// # Errors
///
/// [`NewError::InvalidName`] when it is not.
pub fn validate_name(name: &str) -> Result<(), NewError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64;
    if valid {
        Ok(())
    } else {
        Err(NewError::InvalidName(name.to_string()))
    }
}

/// Creates the project `name` from `template` in `parent/name` and returns the
/// project folder and the files written, relative to it.
///
/// # Errors
///
/// [`NewError`] when the name is invalid, the folder exists, or a file
/// cannot be written.
pub fn create(name: &str, template: Template, parent: &Path) -> Result<(PathBuf, Vec<PathBuf>), NewError> {
    validate_name(name)?;
    let root = parent.join(name);
    if root.exists() {
        return Err(NewError::Exists(root));
    }
    let mut written = Vec::new();
    for (relative, contents) in template.files() {
        let path = root.join(relative);
        let io = |source| NewError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&path, contents.replace(NAME_PLACEHOLDER, name)).map_err(io)?;
        written.push(PathBuf::from(relative));
    }
    Ok((root, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_name("my-component").is_ok());
        assert!(validate_name("a_1").is_ok());
        for bad in ["", "1abc", "has space", "../escape", "ünï"] {
            assert!(matches!(validate_name(bad), Err(NewError::InvalidName(_))), "{bad}");
        }
    }

    #[test]
    fn templates_parse_by_name() {
        for template in Template::ALL {
            assert_eq!(template.name().parse::<Template>().unwrap(), template);
        }
        let err = "nope".parse::<Template>().unwrap_err();
        assert_eq!(err.to_string(), "unknown template `nope`: use one of hello, kvcounter");
    }

    #[test]
    fn the_name_is_substituted_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let (root, files) = create("my-counter", Template::KvCounter, dir.path()).unwrap();
        assert!(files.contains(&PathBuf::from("wit/deps/keyvalue/atomics.wit")));
        for file in files {
            let text = std::fs::read_to_string(root.join(&file)).unwrap();
            assert!(!text.contains(NAME_PLACEHOLDER), "{}", file.display());
        }
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-counter\""));
        assert!(manifest.contains("[workspace]"));
        assert!(matches!(
            create("my-counter", Template::Hello, dir.path()),
            Err(NewError::Exists(_))
        ));
    }
}
