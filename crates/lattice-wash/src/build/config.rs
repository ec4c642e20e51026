//! `wasmcloud.toml`: the project file `wash build` reads.
//!
//! Both schemas in the wild are accepted: wasmCloud v1's (`type = "component"`
//! with a `[component]` table) and the 2023 one (`type = "actor"` with an
//! `[actor]` table, `claims` and `call_alias`). The file is walked by hand over
//! toml's spanned tables so that every problem names its key and line: unknown
//! and legacy keys become [`Warning`]s, wrong types and missing keys become a
//! [`ConfigError`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::target::WasmTarget;
#[cfg(test)]
use super::toml_util::edit_distance;
use super::toml_util::{nearest, resolve, type_name};

/// The file name `wash build` looks for in the project directory.
pub const FILE_NAME: &str = "wasmcloud.toml";

/// What the project builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectType {
    /// A WebAssembly component (`component`, or the 2023 `actor`).
    Component,
    /// A capability provider binary.
    Provider,
}

/// Which schema the file was written against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// wash-lib ≤ 0.13 (2023): `type = "actor"` and `[actor]`.
    Actor2023,
    /// wasmCloud v1: `type = "component"` and `[component]`.
    V1,
}

/// The project's language, which picks the toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    /// cargo.
    Rust,
    /// TinyGo.
    TinyGo,
    /// Go (components need a `build_command`).
    Go,
    /// componentize-py.
    Python,
    /// Anything else: built with `build_command`.
    Other(String),
}

impl Language {
    fn parse(s: &str) -> Language {
        match s.to_ascii_lowercase().as_str() {
            "rust" => Language::Rust,
            "tinygo" => Language::TinyGo,
            "go" => Language::Go,
            "python" => Language::Python,
            _ => Language::Other(s.to_string()),
        }
    }
}

/// A parsed `wasmcloud.toml`, with paths resolved against its folder.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    /// The file this came from.
    pub file: PathBuf,
    /// Which schema it follows.
    pub schema: Schema,
    /// `type`.
    pub project_type: ProjectType,
    /// `language`.
    pub language: Language,
    /// `name` (Rust projects fall back to the Cargo package name).
    pub name: Option<String>,
    /// `version` (Rust projects fall back to the Cargo package version).
    pub version: Option<String>,
    /// `revision`, default 0.
    pub revision: i32,
    /// `path`: where builds run, default the file's folder.
    pub project_dir: PathBuf,
    /// `wit`, default `<project>/wit`.
    pub wit_dir: PathBuf,
    /// Whether `wit` was given explicitly (then it must exist).
    pub wit_explicit: bool,
    /// `build`, default `<project>/build`.
    pub build_dir: PathBuf,
    /// `[component]` (or the 2023 `[actor]`).
    pub component: ComponentConfig,
    /// `[provider]`, when present.
    pub provider: Option<ProviderConfig>,
    /// `[rust]`.
    pub rust: RustConfig,
    /// `[tinygo]`.
    pub tinygo: TinyGoConfig,
    /// `[go]`.
    pub go: GoConfig,
    /// `[dev]`.
    pub dev: DevConfig,
    /// Unknown and legacy keys, in file order.
    pub warnings: Vec<Warning>,
}

/// `[dev]`: what `wash dev` gives the component besides the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevConfig {
    /// `config`: named configs of the lattice and inline values, merged in
    /// order into the component's config.
    pub config: Vec<DevConfigEntry>,
    /// `overrides.imports`: imports served by a provider over a link.
    pub imports: Vec<ImportOverride>,
}

/// One entry of a `config` list: `{ name = "…" }` or `{ values = { k = "v" } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevConfigEntry {
    /// A named config already on the lattice.
    Named(String),
    /// Values given inline.
    Values(BTreeMap<String, String>),
}

/// One `[[dev.overrides.imports]]`: the interfaces a provider serves to the
/// component over a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOverride {
    /// `interface_spec`'s namespace (`wasi` in `wasi:keyvalue/store,atomics@0.2.0-draft`).
    pub namespace: String,
    /// Its package (`keyvalue`).
    pub package: String,
    /// Its interfaces (`store`, `atomics`).
    pub interfaces: Vec<String>,
    /// `image_ref`: the provider (a `file://` path, a `wasmcloud+builtin://` name, …).
    pub image_ref: String,
    /// `link_name`, default `default`.
    pub link_name: Option<String>,
    /// `config`: the provider's own config.
    pub config: Vec<DevConfigEntry>,
    /// `link_config`: the link's config on the provider's side (what it reads
    /// for this component).
    pub link_config: Vec<DevConfigEntry>,
}

/// `[component]` / `[actor]`.
#[derive(Debug, Clone, Default)]
pub struct ComponentConfig {
    /// `key_directory`, resolved against the project folder.
    pub key_directory: Option<PathBuf>,
    /// `wasm_target`.
    pub wasm_target: WasmTarget,
    /// `wasip1_adapter_path`: a custom `wasi_snapshot_preview1` adapter.
    pub wasip1_adapter_path: Option<PathBuf>,
    /// `wit_world`.
    pub wit_world: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `call_alias` (2023 schema; still written into the claims).
    pub call_alias: Option<String>,
    /// `build_command`.
    pub build_command: Option<String>,
    /// `build_artifact`, resolved against the project folder.
    pub build_artifact: Option<PathBuf>,
    /// `destination`, resolved against the project folder.
    pub destination: Option<PathBuf>,
}

/// `[provider]`.
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    /// `vendor`, default `NoVendor`.
    pub vendor: String,
    /// `wit_world`.
    pub wit_world: Option<String>,
    /// `os`.
    pub os: Option<String>,
    /// `arch`.
    pub arch: Option<String>,
    /// `rust_target`.
    pub rust_target: Option<String>,
    /// `bin_name`.
    pub bin_name: Option<String>,
    /// `key_directory`.
    pub key_directory: Option<PathBuf>,
}

/// `[rust]`.
#[derive(Debug, Clone, Default)]
pub struct RustConfig {
    /// `cargo_path`.
    pub cargo_path: Option<PathBuf>,
    /// `target_path`: overrides cargo's target directory.
    pub target_path: Option<PathBuf>,
    /// `debug`: build without `--release`.
    pub debug: bool,
}

/// `[tinygo]`.
#[derive(Debug, Clone, Default)]
pub struct TinyGoConfig {
    /// `tinygo_path`.
    pub tinygo_path: Option<PathBuf>,
    /// `disable_go_generate`.
    pub disable_go_generate: bool,
    /// `scheduler`: none, tasks or asyncify.
    pub scheduler: Option<String>,
    /// `garbage_collector`: none, conservative or leaking.
    pub garbage_collector: Option<String>,
}

/// `[go]`.
#[derive(Debug, Clone, Default)]
pub struct GoConfig {
    /// `go_path`.
    pub go_path: Option<PathBuf>,
    /// `disable_go_generate`.
    pub disable_go_generate: bool,
}

/// A key that was read but has no effect, reported and otherwise ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The dotted key, e.g. `component.wasm_taget`.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// A `wasmcloud.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {}: create it or pass its path with -p/--config-path", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}: invalid TOML: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// toml's description.
        message: String,
    },
    /// A key holds a value of the wrong type.
    #[error("{}:{line}: `{key}` must be {expected}, found {found}", file.display())]
    WrongType {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The dotted key.
        key: String,
        /// What was expected, e.g. "a string".
        expected: &'static str,
        /// What was found, e.g. "an integer".
        found: &'static str,
    },
    /// A key holds a value of the right type that is not allowed.
    #[error("{}:{line}: `{key}`: {message}", file.display())]
    BadValue {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The dotted key.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A required key is absent.
    #[error("{}:{line}: missing `{key}`: {message}", file.display())]
    Missing {
        /// The file.
        file: PathBuf,
        /// 1-based line the requirement comes from.
        line: usize,
        /// The dotted key.
        key: String,
        /// Why it is needed and what to write.
        message: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::WrongType { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::Missing { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "name",
    "version",
    "revision",
    "language",
    "type",
    "path",
    "wit",
    "build",
    "component",
    "actor",
    "provider",
    "rust",
    "tinygo",
    "go",
    "dev",
    "registry",
    "overrides",
];
const COMPONENT_KEYS: &[&str] = &[
    "key_directory",
    "wasm_target",
    "wasip1_adapter_path",
    "wit_world",
    "tags",
    "call_alias",
    "build_command",
    "build_artifact",
    "destination",
];
/// Keys of the 2023 `[actor]` table that wasmCloud v1 no longer reads.
const COMPONENT_LEGACY_KEYS: &[&str] = &[
    "claims",
    "registry",
    "push_insecure",
    "wasi_preview2_adapter_path",
    "filename",
];
const PROVIDER_KEYS: &[&str] = &[
    "vendor",
    "wit_world",
    "os",
    "arch",
    "rust_target",
    "bin_name",
    "key_directory",
];
const RUST_KEYS: &[&str] = &["cargo_path", "target_path", "debug"];
const RUST_LEGACY_KEYS: &[&str] = &["target_dir"];
const TINYGO_KEYS: &[&str] = &["tinygo_path", "disable_go_generate", "scheduler", "garbage_collector"];
const GO_KEYS: &[&str] = &["go_path", "disable_go_generate"];
const DEV_KEYS: &[&str] = &["config", "overrides", "manifests", "secrets", "link_config"];
/// Keys of upstream's `[dev]` this `wash dev` does not act on.
const DEV_UNREAD_KEYS: &[&str] = &["manifests", "secrets", "link_config"];
const DEV_OVERRIDE_KEYS: &[&str] = &[
    "interface_spec",
    "interface",
    "image_ref",
    "uri",
    "link_name",
    "config",
    "link_config",
    "secrets",
];

impl ProjectConfig {
    /// Reads `path`: a `wasmcloud.toml` file, or a folder holding one.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the file is missing, is not TOML, or a key has the
    /// wrong type or value or is missing.
    pub fn load(path: &Path) -> Result<ProjectConfig, ConfigError> {
        let file = if path.is_dir() {
            path.join(FILE_NAME)
        } else {
            path.to_path_buf()
        };
        // Absolute, so that paths in messages and `-o json` mean the same from anywhere.
        let file = std::path::absolute(&file).unwrap_or(file);
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        ProjectConfig::parse(&text, &file)
    }

    /// Parses `text` as if read from `file` (which anchors relative paths and
    /// names the file in messages).
    ///
    /// # Errors
    ///
    /// As [`ProjectConfig::load`], except for reading.
    pub fn parse(text: &str, file: &Path) -> Result<ProjectConfig, ConfigError> {
        let cx = Cx {
            file,
            text,
            warnings: Vec::new(),
        };
        cx.parse()
    }
}

/// The parsing context: the source for line numbers and the warnings so far.
struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
    warnings: Vec<Warning>,
}

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

impl<'a> Cx<'a> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
    }

    fn parse(mut self) -> Result<ProjectConfig, ConfigError> {
        let root = DeTable::parse(self.text).map_err(|e| ConfigError::Syntax {
            file: self.file.to_path_buf(),
            line: e.span().map_or(1, |s| self.line(&s)),
            message: e.message().trim_end_matches('\n').to_string(),
        })?;
        let root = root.get_ref();
        self.check_keys(root, "", TOP_KEYS, &[]);

        let base = self
            .file
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let (language_value, language_line) =
            self.required_str(root, "", "language", 1, "add e.g. `language = \"rust\"`")?;
        let language = Language::parse(&language_value);
        let (type_value, type_line) =
            self.required_str(root, "", "type", 1, "add `type = \"component\"` (or \"provider\")")?;
        let project_type = match type_value.as_str() {
            "component" => ProjectType::Component,
            "provider" => ProjectType::Provider,
            "actor" => {
                self.warn(
                    type_line,
                    "type",
                    "`type = \"actor\"` is the 2023 schema: read as a component; \
                     write `type = \"component\"` and rename `[actor]` to `[component]`",
                );
                ProjectType::Component
            }
            other => {
                return Err(self.bad_value(
                    type_line,
                    "type",
                    format!("unknown project type `{other}`: use \"component\" or \"provider\""),
                ));
            }
        };

        let name = self.string(root, "", "name")?.map(|(v, _)| v);
        let version = self.string(root, "", "version")?.map(|(v, _)| v);
        let revision = match self.integer(root, "", "revision")? {
            None => 0,
            Some((value, line)) => i32::try_from(value)
                .map_err(|_| self.bad_value(line, "revision", format!("{value} does not fit a 32-bit integer")))?,
        };
        if language != Language::Rust && project_type == ProjectType::Component {
            for (key, example) in [("name", "\"my-component\""), ("version", "\"0.1.0\"")] {
                let present = if key == "name" {
                    name.is_some()
                } else {
                    version.is_some()
                };
                if !present {
                    return Err(ConfigError::Missing {
                        file: self.file.to_path_buf(),
                        line: language_line,
                        key: key.to_string(),
                        message: format!(
                            "`{key}` is required when language = \"{language_value}\" \
                             (only Rust falls back to Cargo.toml): add `{key} = {example}` at the top"
                        ),
                    });
                }
            }
        }

        let project_dir = match self.path(root, "", "path", &base)? {
            Some(dir) => dir,
            None => base.clone(),
        };
        let wit = self.path(root, "", "wit", &project_dir)?;
        let build = self.path(root, "", "build", &project_dir)?;

        let (schema, component) = self.component_section(root, project_type, &type_value, &project_dir)?;
        let provider = match self.table(root, "", "provider")? {
            Some(table) => Some(self.provider(table, &project_dir)?),
            None => None,
        };
        let rust = match self.table(root, "", "rust")? {
            Some(table) => {
                self.check_keys(table, "rust.", RUST_KEYS, RUST_LEGACY_KEYS);
                RustConfig {
                    cargo_path: self.path(table, "rust.", "cargo_path", &project_dir)?,
                    target_path: self.path(table, "rust.", "target_path", &project_dir)?,
                    debug: self.boolean(table, "rust.", "debug")?.unwrap_or(false),
                }
            }
            None => RustConfig::default(),
        };
        let tinygo = match self.table(root, "", "tinygo")? {
            Some(table) => {
                self.check_keys(table, "tinygo.", TINYGO_KEYS, &[]);
                TinyGoConfig {
                    tinygo_path: self.path(table, "tinygo.", "tinygo_path", &project_dir)?,
                    disable_go_generate: self.boolean(table, "tinygo.", "disable_go_generate")?.unwrap_or(false),
                    scheduler: self.one_of(table, "tinygo.", "scheduler", &["none", "tasks", "asyncify"])?,
                    garbage_collector: self.one_of(
                        table,
                        "tinygo.",
                        "garbage_collector",
                        &["none", "conservative", "leaking"],
                    )?,
                }
            }
            None => TinyGoConfig::default(),
        };
        let go = match self.table(root, "", "go")? {
            Some(table) => {
                self.check_keys(table, "go.", GO_KEYS, &[]);
                GoConfig {
                    go_path: self.path(table, "go.", "go_path", &project_dir)?,
                    disable_go_generate: self.boolean(table, "go.", "disable_go_generate")?.unwrap_or(false),
                }
            }
            None => GoConfig::default(),
        };
        let dev = match self.table(root, "", "dev")? {
            Some(table) => self.dev(table, &project_dir)?,
            None => DevConfig::default(),
        };

        let mut warnings = self.warnings;
        warnings.sort_by_key(|w| w.line);
        Ok(ProjectConfig {
            file: self.file.to_path_buf(),
            schema,
            project_type,
            language,
            name,
            version,
            revision,
            wit_explicit: wit.is_some(),
            wit_dir: wit.unwrap_or_else(|| project_dir.join("wit")),
            build_dir: build.unwrap_or_else(|| project_dir.join("build")),
            project_dir,
            component,
            provider,
            rust,
            tinygo,
            go,
            dev,
            warnings,
        })
    }

    /// `[component]` or the 2023 `[actor]`; which one decides the schema.
    fn component_section(
        &mut self,
        root: &Table<'_>,
        project_type: ProjectType,
        type_value: &str,
        project_dir: &Path,
    ) -> Result<(Schema, ComponentConfig), ConfigError> {
        let component = self.table(root, "", "component")?;
        let actor = self.table(root, "", "actor")?;
        let (schema, table, prefix) = match (component, actor) {
            (Some(_), Some(_)) => {
                let line = self.key_line(root, "actor");
                return Err(self.bad_value(
                    line,
                    "actor",
                    "both [component] and [actor] are present: keep only [component]".to_string(),
                ));
            }
            (Some(table), None) => (Schema::V1, Some(table), "component."),
            (None, Some(table)) => {
                if type_value != "actor" {
                    let line = self.key_line(root, "actor");
                    self.warn(
                        line,
                        "actor",
                        "`[actor]` is the 2023 schema: read as [component]; rename it to `[component]`",
                    );
                }
                (Schema::Actor2023, Some(table), "actor.")
            }
            (None, None) if type_value == "actor" => (Schema::Actor2023, None, "actor."),
            (None, None) => (Schema::V1, None, "component."),
        };
        let Some(table) = table else {
            return Ok((schema, ComponentConfig::default()));
        };
        if project_type == ProjectType::Provider {
            let line = self.key_line(root, prefix.trim_end_matches('.'));
            self.warn(
                line,
                prefix.trim_end_matches('.'),
                "a provider project does not read this table; use [provider]",
            );
        }
        self.check_keys(table, prefix, COMPONENT_KEYS, COMPONENT_LEGACY_KEYS);
        let wasm_target = match self.string(table, prefix, "wasm_target")? {
            None => WasmTarget::default(),
            Some((value, line)) => value
                .parse::<WasmTarget>()
                .map_err(|e| self.bad_value(line, &format!("{prefix}wasm_target"), e.to_string()))?,
        };
        let tags = self.string_list(table, prefix, "tags")?;
        Ok((
            schema,
            ComponentConfig {
                key_directory: self.path(table, prefix, "key_directory", project_dir)?,
                wasm_target,
                wasip1_adapter_path: self.path(table, prefix, "wasip1_adapter_path", project_dir)?,
                wit_world: self.string(table, prefix, "wit_world")?.map(|(v, _)| v),
                tags,
                call_alias: self.string(table, prefix, "call_alias")?.map(|(v, _)| v),
                build_command: self.string(table, prefix, "build_command")?.map(|(v, _)| v),
                build_artifact: self.path(table, prefix, "build_artifact", project_dir)?,
                destination: self.path(table, prefix, "destination", project_dir)?,
            },
        ))
    }

    fn provider(&mut self, table: &Table<'_>, project_dir: &Path) -> Result<ProviderConfig, ConfigError> {
        let p = "provider.";
        self.check_keys(table, p, PROVIDER_KEYS, &[]);
        Ok(ProviderConfig {
            vendor: self
                .string(table, p, "vendor")?
                .map_or_else(|| "NoVendor".to_string(), |(v, _)| v),
            wit_world: self.string(table, p, "wit_world")?.map(|(v, _)| v),
            os: self.string(table, p, "os")?.map(|(v, _)| v),
            arch: self.string(table, p, "arch")?.map(|(v, _)| v),
            rust_target: self.string(table, p, "rust_target")?.map(|(v, _)| v),
            bin_name: self.string(table, p, "bin_name")?.map(|(v, _)| v),
            key_directory: self.path(table, p, "key_directory", project_dir)?,
        })
    }

    /// Warns that wash dev does not act on upstream's `dotted` key.
    fn unread(&mut self, table: &Table<'_>, key: &str, dotted: &str) {
        if table.contains_key(key) {
            let line = self.key_line(table, key);
            self.warn(
                line,
                dotted,
                format!("`{dotted}` is not read by this wash dev yet: ignored"),
            );
        }
    }

    fn dev(&mut self, table: &Table<'_>, project_dir: &Path) -> Result<DevConfig, ConfigError> {
        self.check_keys(table, "dev.", DEV_KEYS, &[]);
        for key in DEV_UNREAD_KEYS {
            self.unread(table, key, &format!("dev.{key}"));
        }
        let config = self.config_entries(table, "dev.", "config")?;
        let mut imports = Vec::new();
        if let Some(overrides) = self.table(table, "dev.", "overrides")? {
            self.check_keys(overrides, "dev.overrides.", &["imports", "exports"], &[]);
            self.unread(overrides, "exports", "dev.overrides.exports");
            for item in self.tables(overrides, "dev.overrides.", "imports")? {
                imports.push(self.import_override(item, project_dir)?);
            }
        }
        Ok(DevConfig { config, imports })
    }

    fn import_override(&mut self, table: &Table<'_>, project_dir: &Path) -> Result<ImportOverride, ConfigError> {
        let p = "dev.overrides.imports.";
        self.check_keys(table, p, DEV_OVERRIDE_KEYS, &[]);
        self.unread(table, "secrets", &format!("{p}secrets"));
        let spec = match self.string(table, p, "interface_spec")? {
            Some(spec) => Some(spec),
            None => self.string(table, p, "interface")?,
        };
        let Some((spec, line)) = spec else {
            return Err(ConfigError::Missing {
                file: self.file.to_path_buf(),
                line: 1,
                key: format!("{p}interface_spec"),
                message: "each import override names its interfaces: add e.g. `interface_spec = \"wasi:keyvalue/store,atomics@0.2.0-draft\"`"
                    .to_string(),
            });
        };
        let (namespace, package, interfaces) = parse_interface_spec(&spec)
            .ok_or_else(|| self.bad_value(line, &format!("{p}interface_spec"), format!(
                "`{spec}` is not `namespace:package/interface[,interface…][@version]`: write e.g. \"wasi:keyvalue/store,atomics@0.2.0-draft\""
            )))?;
        let image_ref = match self.string(table, p, "image_ref")? {
            Some(image_ref) => Some(image_ref),
            None => self.string(table, p, "uri")?,
        };
        let Some((image_ref, _)) = image_ref else {
            return Err(ConfigError::Missing {
                file: self.file.to_path_buf(),
                line,
                key: format!("{p}image_ref"),
                message: format!(
                    "the override of `{spec}` needs the provider that serves it: add `image_ref = \"path/to/provider.par\"`"
                ),
            });
        };
        let image_ref = if image_ref.contains("://") {
            image_ref
        } else {
            format!("file://{}", resolve(project_dir, &image_ref).display())
        };
        Ok(ImportOverride {
            namespace,
            package,
            interfaces,
            image_ref,
            link_name: self.string(table, p, "link_name")?.map(|(v, _)| v),
            config: self.config_entries(table, p, "config")?,
            link_config: self.config_entries(table, p, "link_config")?,
        })
    }

    /// A list of `{ name = "…" }` / `{ values = { … } }` tables.
    fn config_entries(
        &mut self,
        table: &Table<'_>,
        prefix: &str,
        key: &str,
    ) -> Result<Vec<DevConfigEntry>, ConfigError> {
        let dotted = format!("{prefix}{key}");
        let mut entries = Vec::new();
        for item in self.tables(table, prefix, key)? {
            self.check_keys(item, &format!("{dotted}."), &["name", "values"], &[]);
            let name = self.string(item, &format!("{dotted}."), "name")?;
            let values = self.table(item, &format!("{dotted}."), "values")?;
            let entry = match (name, values) {
                (Some((name, _)), None) => DevConfigEntry::Named(name),
                (None, Some(values)) => {
                    let mut map = BTreeMap::new();
                    for (k, v) in values.iter() {
                        match v.get_ref() {
                            DeValue::String(s) => {
                                map.insert(k.get_ref().to_string(), s.to_string());
                            }
                            _ => {
                                return Err(self.wrong_type(v, format!("{dotted}.values.{}", k.get_ref()), "a string"));
                            }
                        }
                    }
                    DevConfigEntry::Values(map)
                }
                _ => {
                    let line = self.key_line(table, key);
                    return Err(self.bad_value(
                        line,
                        &dotted,
                        "each entry is either `{ name = \"…\" }` (a config on the lattice) or `{ values = { key = \"value\" } }`: give exactly one"
                            .to_string(),
                    ));
                }
            };
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The tables of an array of tables (`[[key]]` or `key = [{…}]`); empty when absent.
    fn tables<'t, 'i>(&self, table: &'t Table<'i>, prefix: &str, key: &str) -> Result<Vec<&'t Table<'i>>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(value, format!("{prefix}{key}"), "an array of tables"));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(t) => Ok(t),
                _ => Err(self.wrong_type(item, format!("{prefix}{key}"), "an array of tables")),
            })
            .collect()
    }

    /// Warns about every key of `table` that is not in `known`, calling out
    /// `legacy` ones as such and suggesting the nearest known key for typos.
    fn check_keys(&mut self, table: &Table<'_>, prefix: &str, known: &[&str], legacy: &[&str]) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let line = self.line(&key.span());
            let dotted = format!("{prefix}{name}");
            let message = if legacy.contains(&name) {
                format!("legacy key `{dotted}` is ignored: wasmCloud v1 no longer reads it; remove it")
            } else {
                match nearest(name, known) {
                    Some(suggestion) => {
                        format!("unknown key `{dotted}` is ignored: did you mean `{prefix}{suggestion}`?")
                    }
                    None => format!("unknown key `{dotted}` is ignored: remove it"),
                }
            };
            self.warn(line, &dotted, message);
        }
    }

    fn warn(&mut self, line: usize, key: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            file: self.file.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn bad_value(&self, line: usize, key: &str, message: String) -> ConfigError {
        ConfigError::BadValue {
            file: self.file.to_path_buf(),
            line,
            key: key.to_string(),
            message,
        }
    }

    fn key_line(&self, table: &Table<'_>, key: &str) -> usize {
        table.get_key_value(key).map_or(1, |(k, _)| self.line(&k.span()))
    }

    fn get<'t, 'i>(table: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
        table.get(key)
    }

    fn wrong_type(&self, value: &Value<'_>, dotted: String, expected: &'static str) -> ConfigError {
        ConfigError::WrongType {
            file: self.file.to_path_buf(),
            line: self.line(&value.span()),
            key: dotted,
            expected,
            found: type_name(value.get_ref()),
        }
    }

    fn string(&self, table: &Table<'_>, prefix: &str, key: &str) -> Result<Option<(String, usize)>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::String(s) => Ok(Some((s.to_string(), self.line(&value.span())))),
            _ => Err(self.wrong_type(value, format!("{prefix}{key}"), "a string")),
        }
    }

    fn required_str(
        &self,
        table: &Table<'_>,
        prefix: &str,
        key: &str,
        line: usize,
        hint: &str,
    ) -> Result<(String, usize), ConfigError> {
        self.string(table, prefix, key)?.ok_or_else(|| ConfigError::Missing {
            file: self.file.to_path_buf(),
            line,
            key: format!("{prefix}{key}"),
            message: format!("it is required: {hint}"),
        })
    }

    fn integer(&self, table: &Table<'_>, prefix: &str, key: &str) -> Result<Option<(i64, usize)>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(None);
        };
        let line = self.line(&value.span());
        match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .map(|n| Some((n, line)))
                .map_err(|_| self.bad_value(line, &format!("{prefix}{key}"), format!("{i} is out of range"))),
            _ => Err(self.wrong_type(value, format!("{prefix}{key}"), "an integer")),
        }
    }

    fn boolean(&self, table: &Table<'_>, prefix: &str, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(Some(*b)),
            _ => Err(self.wrong_type(value, format!("{prefix}{key}"), "a boolean (true or false)")),
        }
    }

    fn path(&self, table: &Table<'_>, prefix: &str, key: &str, base: &Path) -> Result<Option<PathBuf>, ConfigError> {
        Ok(self.string(table, prefix, key)?.map(|(value, _)| resolve(base, &value)))
    }

    fn one_of(
        &self,
        table: &Table<'_>,
        prefix: &str,
        key: &str,
        allowed: &[&str],
    ) -> Result<Option<String>, ConfigError> {
        let Some((value, line)) = self.string(table, prefix, key)? else {
            return Ok(None);
        };
        if !allowed.contains(&value.as_str()) {
            return Err(self.bad_value(
                line,
                &format!("{prefix}{key}"),
                format!("unknown value `{value}`: use one of {}", allowed.join(", ")),
            ));
        }
        Ok(Some(value))
    }

    fn string_list(&self, table: &Table<'_>, prefix: &str, key: &str) -> Result<Vec<String>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(value, format!("{prefix}{key}"), "an array of strings"));
        };
        let mut list = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) if !list.iter().any(|t: &String| t == s.as_ref()) => list.push(s.to_string()),
                DeValue::String(_) => {}
                _ => return Err(self.wrong_type(item, format!("{prefix}{key}"), "an array of strings")),
            }
        }
        Ok(list)
    }

    fn table<'t, 'i>(
        &self,
        table: &'t Table<'i>,
        prefix: &str,
        key: &str,
    ) -> Result<Option<&'t Table<'i>>, ConfigError> {
        let Some(value) = Self::get(table, key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Table(t) => Ok(Some(t)),
            _ => Err(self.wrong_type(value, format!("{prefix}{key}"), "a table")),
        }
    }
}

/// `namespace:package/interface[,interface…][@version]` → its parts (the
/// version is the component's business, not the link's).
fn parse_interface_spec(spec: &str) -> Option<(String, String, Vec<String>)> {
    let spec = spec.split_once('@').map_or(spec, |(before, _version)| before);
    let (namespace, rest) = spec.split_once(':')?;
    let (package, interfaces) = rest.split_once('/')?;
    let interfaces: Vec<String> = interfaces.split(',').map(|i| i.trim().to_owned()).collect();
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (word(namespace) && word(package) && interfaces.iter().all(|i| word(i)))
        .then(|| (namespace.to_owned(), package.to_owned(), interfaces))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
