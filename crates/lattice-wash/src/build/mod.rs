//! `wash build`: read `wasmcloud.toml`, run the language toolchain, make the
//! output a component, and sign it.
//!
//! The steps are one module each: [`config`] parses the project file,
//! [`target`] maps `wasm_target` onto toolchains, `rust`, `python`, `tinygo`
//! and `custom` run the toolchains, [`adapter`] turns core modules into
//! components and [`sign`] embeds the claims.

pub mod adapter;
pub mod config;
mod custom;
mod process;
mod python;
mod rust;
pub mod sign;
pub mod target;
mod tinygo;
mod toml_util;

use std::path::{Path, PathBuf};

use crate::keys::{KeyDir, KeyError};
use config::{ConfigError, Language, ProjectConfig, ProjectType, Warning};
use target::WasmTarget;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `wasmcloud.toml` is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A toolchain program is not installed.
    #[error("{tool} not found, {hint}")]
    ToolNotFound {
        /// The program.
        tool: String,
        /// How to install it.
        hint: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// A toolchain ran and failed.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// `cargo metadata` said something unexpected.
    #[error("cannot read the cargo project in {}: {message}", dir.display())]
    CargoMetadata {
        /// The project folder.
        dir: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The WIT folder cannot be read or lacks the world.
    #[error("cannot use the WIT in {}: {message}", dir.display())]
    Wit {
        /// The WIT folder.
        dir: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The toolchain succeeded but its output is not where it should be.
    #[error("the build did not produce {}: {hint}", path.display())]
    ArtifactMissing {
        /// Where the output was expected.
        path: PathBuf,
        /// What to check.
        hint: String,
    },
    /// The output could not be made a component.
    #[error("cannot make {} a component", path.display())]
    Adapt {
        /// The toolchain's output.
        path: PathBuf,
        /// Why.
        #[source]
        source: adapter::AdapterError,
    },
    /// A signing key could not be loaded or generated.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Embedding the claims failed.
    #[error("cannot sign {}", path.display())]
    Sign {
        /// The unsigned component.
        path: PathBuf,
        /// Why.
        #[source]
        source: lattice_claims::Error,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The project asks for something `wash build` does not do.
    #[error("{0}")]
    Unsupported(String),
}

/// What `wash build` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `wasmcloud.toml` or its folder [default: the current directory].
    pub config_path: Option<PathBuf>,
    /// Key directory overriding `[component] key_directory`.
    pub keys_directory: Option<PathBuf>,
    /// Fail rather than generate missing keys.
    pub disable_keygen: bool,
    /// Build but do not sign.
    pub build_only: bool,
    /// Sign the existing build output without building.
    pub sign_only: bool,
    /// Echo toolchain output to stderr.
    pub stream_output: bool,
}

/// What a build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    /// The final file: the signed component, or the unsigned one with `--build-only`.
    pub component_path: PathBuf,
    /// Whether a toolchain ran.
    pub built: bool,
    /// Whether the component was signed.
    pub signed: bool,
    /// The project name used in the claims.
    pub name: String,
    /// The project version used in the claims.
    pub version: Option<String>,
    /// Issuer (account) public key, when signed.
    pub account: Option<String>,
    /// Subject (component) public key, when signed.
    pub component: Option<String>,
    /// Keys generated for this build.
    pub generated_keys: Vec<PathBuf>,
    /// Warnings about the project file.
    #[serde(serialize_with = "serialize_warnings")]
    pub warnings: Vec<Warning>,
}

fn serialize_warnings<S: serde::Serializer>(warnings: &[Warning], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(warnings.iter().map(ToString::to_string))
}

/// A build in progress: the parsed project and where things go.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) config: ProjectConfig,
    /// Name for the claims (from the file, else Cargo).
    pub(crate) name: String,
    /// Version for the claims (from the file, else Cargo).
    pub(crate) version: Option<String>,
    /// Stem of the output files, e.g. `http_hello_world`.
    pub(crate) bin_name: String,
    /// Cargo's view, for Rust projects.
    pub(crate) cargo: Option<rust::CargoProject>,
    pub(crate) stream: bool,
}

impl Project {
    /// Where the unsigned component is written.
    fn unsigned_path(&self) -> PathBuf {
        match &self.config.component.build_artifact {
            Some(path) => path.clone(),
            None => self.config.build_dir.join(format!("{}.wasm", self.bin_name)),
        }
    }

    /// Where the signed component is written.
    fn signed_path(&self) -> PathBuf {
        match &self.config.component.destination {
            Some(path) => path.clone(),
            None => self.config.build_dir.join(format!("{}_s.wasm", self.bin_name)),
        }
    }
}

/// Builds (and signs) the project `options` point at. `progress` receives
/// one line per step and every warning about the project file.
///
/// # Errors
///
/// [`BuildError`] naming the step that failed: the project file, a missing
/// or failing toolchain (with its command line and stderr), the adapter, the
/// keys or the signature.
pub fn build(options: &BuildOptions, progress: &mut dyn FnMut(&str)) -> Result<BuildReport, BuildError> {
    let config_path = options.config_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let config = ProjectConfig::load(&config_path)?;
    for warning in &config.warnings {
        progress(&format!("warning: {warning}"));
    }
    if config.project_type == ProjectType::Provider {
        return Err(BuildError::Unsupported(format!(
            "{}: building capability providers is not supported yet; build the provider binary with cargo, \
             or set `type = \"component\"`",
            config.file.display()
        )));
    }
    if config.wit_explicit && !config.wit_dir.is_dir() {
        return Err(BuildError::ArtifactMissing {
            path: config.wit_dir,
            hint: "`wit` in wasmcloud.toml names a folder that does not exist; fix the path or remove the key"
                .to_string(),
        });
    }
    if !config.project_dir.is_dir() {
        return Err(BuildError::ArtifactMissing {
            path: config.project_dir,
            hint: "`path` in wasmcloud.toml names a folder that does not exist; fix the path or remove the key"
                .to_string(),
        });
    }
    let project = resolve_project(config, options.stream_output)?;
    let unsigned = project.unsigned_path();

    let built = !options.sign_only;
    if built {
        // componentize-py makes a component whatever `wasm_target` says.
        let target = match (&project.config.language, &project.config.component.build_command) {
            (Language::Python, None) => "component".to_string(),
            _ => project.config.component.wasm_target.to_string(),
        };
        progress(&format!(
            "building {} ({}, {target})",
            project.name,
            language_name(&project.config.language),
        ));
        let output = run_toolchain(&project, progress)?;
        make_component(&project, &output, &unsigned)?;
        progress(&format!("built {}", unsigned.display()));
    } else if !unsigned.is_file() {
        return Err(BuildError::ArtifactMissing {
            path: unsigned,
            hint: "--sign-only signs an existing build; run `wash build --build-only` first".to_string(),
        });
    }

    let mut report = BuildReport {
        component_path: unsigned.clone(),
        built,
        signed: false,
        name: project.name.clone(),
        version: project.version.clone(),
        account: None,
        component: None,
        generated_keys: Vec::new(),
        warnings: project.config.warnings.clone(),
    };
    if options.build_only {
        return Ok(report);
    }

    let key_dir = KeyDir::new(
        options
            .keys_directory
            .clone()
            .or_else(|| project.config.component.key_directory.clone())
            .unwrap_or_else(KeyDir::default_root),
    );
    let destination = project.signed_path();
    let signed = sign::sign_file(&project, &unsigned, &destination, &key_dir, !options.disable_keygen)?;
    for path in &signed.generated_keys {
        progress(&format!("generated a new key at {}", path.display()));
    }
    progress(&format!("signed {}", destination.display()));
    report.component_path = destination;
    report.signed = true;
    report.account = Some(signed.account);
    report.component = Some(signed.component);
    report.generated_keys = signed.generated_keys;
    Ok(report)
}

fn resolve_project(config: ProjectConfig, stream: bool) -> Result<Project, BuildError> {
    if config.language == Language::Rust {
        let cargo = rust::metadata(&config)?;
        let name = config.name.clone().unwrap_or_else(|| cargo.package_name.clone());
        let version = config.version.clone().or_else(|| Some(cargo.package_version.clone()));
        return Ok(Project {
            bin_name: cargo.artifact_stem.clone(),
            name,
            version,
            cargo: Some(cargo),
            config,
            stream,
        });
    }
    // The parser requires `name` for every other language.
    let name = config.name.clone().unwrap_or_else(|| "component".to_string());
    Ok(Project {
        bin_name: name.clone(),
        version: config.version.clone(),
        name,
        cargo: None,
        config,
        stream,
    })
}

fn language_name(language: &Language) -> &str {
    match language {
        Language::Rust => "rust",
        Language::TinyGo => "tinygo",
        Language::Go => "go",
        Language::Python => "python",
        Language::Other(other) => other,
    }
}

/// Runs the toolchain and returns the file it wrote.
fn run_toolchain(project: &Project, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    create_dir(&project.config.build_dir)?;
    if project.config.component.build_command.is_some() {
        return custom::build(project, progress);
    }
    match &project.config.language {
        Language::Rust => rust::build(project, progress),
        Language::Python => python::build(project, progress),
        Language::TinyGo => tinygo::build(project, progress),
        Language::Go => Err(BuildError::Unsupported(format!(
            "{}: Go components are built with a `build_command` in [component]; add one, \
             or use language = \"tinygo\"",
            project.config.file.display()
        ))),
        Language::Other(language) => Err(BuildError::Unsupported(format!(
            "{}: wash build has no built-in toolchain for language \"{language}\": \
             set `build_command` and `build_artifact` in [component]",
            project.config.file.display()
        ))),
    }
}

/// Reads the toolchain's output, adapts it into a component when it is a
/// module, and writes it to `unsigned`.
fn make_component(project: &Project, output: &Path, unsigned: &Path) -> Result<(), BuildError> {
    let bytes = read(output)?;
    let custom_adapter = match &project.config.component.wasip1_adapter_path {
        Some(path) => Some(read(path)?),
        None => None,
    };
    let component = match project.config.component.wasm_target {
        WasmTarget::WasiP2 if adapter::shape(&bytes).is_ok_and(|s| s.is_component) => bytes,
        _ => adapter::adapt(&bytes, custom_adapter.as_deref()).map_err(|source| BuildError::Adapt {
            path: output.to_path_buf(),
            source,
        })?,
    };
    if let Some(parent) = unsigned.parent() {
        create_dir(parent)?;
    }
    std::fs::write(unsigned, component).map_err(|source| BuildError::Io {
        path: unsigned.to_path_buf(),
        source,
    })
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn create_dir(path: &Path) -> Result<(), BuildError> {
    std::fs::create_dir_all(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}
