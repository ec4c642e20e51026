//! nkeys key pairs and the key directory (`~/.wash/keys` by default).
//!
//! Keys are stored as `<name>_<type>.nk` files holding the seed, readable only
//! by the owner (0600, folder 0700), the layout wasmCloud's `wash` uses.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nkeys::{KeyPair, KeyPairType, XKey};

/// Environment variable overriding the key directory.
pub const KEYS_DIR_ENV: &str = "WASH_KEYS";

/// What went wrong while creating, reading or parsing a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key type name is not one `wash` knows.
    #[error(
        "unknown key type `{0}`: use one of account, module (component), service (provider), \
         server (host), operator, cluster, user or curve (x25519)"
    )]
    UnknownType(String),
    /// No key file of that name exists.
    #[error("no key named `{name}` in {dir}: run `wash keys list` to see the stored keys")]
    NotFound {
        /// The name that was asked for.
        name: String,
        /// The key directory searched.
        dir: PathBuf,
    },
    /// A key was needed, is missing, and generating it was disabled.
    #[error(
        "key {path} does not exist and --disable-keygen is set: create it with `wash keys gen {kind}` \
         or pass the seed explicitly"
    )]
    KeygenDisabled {
        /// Where the key was expected.
        path: PathBuf,
        /// Its type.
        kind: KeyType,
    },
    /// A file or argument does not hold a valid seed.
    #[error("{origin} does not hold a valid nkeys seed (expected a 58-character string starting with `S`)")]
    InvalidSeed {
        /// The file or argument the seed came from.
        origin: String,
        /// What nkeys reported.
        #[source]
        source: nkeys::error::Error,
    },
    /// The seed is valid but of a type `wash` does not manage.
    #[error("{origin} holds a seed of a type wash does not manage: generate one with `wash keys gen`")]
    UnsupportedType {
        /// The file or argument the seed came from.
        origin: String,
    },
    /// The seed is valid but of another type than required.
    #[error("{origin} holds a {found} key, but a {expected} key is required here")]
    WrongType {
        /// The file or argument the seed came from.
        origin: String,
        /// The type required.
        expected: KeyType,
        /// The type found.
        found: KeyType,
    },
    /// Reading or writing the key directory failed.
    #[error("cannot access {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// The kinds of key `wash` generates and stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Issues components and providers (`A…`).
    Account,
    /// A component's identity (`M…`).
    Module,
    /// A capability provider's identity (`V…`).
    Service,
    /// A host's identity (`N…`).
    Server,
    /// Issues accounts (`O…`).
    Operator,
    /// Legacy cluster issuer (`C…`).
    Cluster,
    /// A NATS user (`U…`).
    User,
    /// An X25519 key for sealing secrets (`X…`).
    Curve,
}

impl KeyType {
    /// Every type, in the order `wash keys gen --help` lists them.
    pub const ALL: [KeyType; 8] = [
        KeyType::Account,
        KeyType::Module,
        KeyType::Service,
        KeyType::Server,
        KeyType::Operator,
        KeyType::Cluster,
        KeyType::User,
        KeyType::Curve,
    ];

    /// The suffix used in key file names (`<name>_<suffix>.nk`).
    pub fn suffix(self) -> &'static str {
        match self {
            KeyType::Account => "account",
            KeyType::Module => "module",
            KeyType::Service => "service",
            KeyType::Server => "server",
            KeyType::Operator => "operator",
            KeyType::Cluster => "cluster",
            KeyType::User => "user",
            KeyType::Curve => "curve",
        }
    }

    fn nkeys_type(self) -> Option<KeyPairType> {
        Some(match self {
            KeyType::Account => KeyPairType::Account,
            KeyType::Module => KeyPairType::Module,
            KeyType::Service => KeyPairType::Service,
            KeyType::Server => KeyPairType::Server,
            KeyType::Operator => KeyPairType::Operator,
            KeyType::Cluster => KeyPairType::Cluster,
            KeyType::User => KeyPairType::User,
            KeyType::Curve => return None,
        })
    }

    fn from_nkeys_type(kind: &KeyPairType) -> Option<KeyType> {
        Self::ALL.into_iter().find(|t| t.nkeys_type().as_ref() == Some(kind))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

impl FromStr for KeyType {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "account" => KeyType::Account,
            "module" | "component" => KeyType::Module,
            "service" | "provider" => KeyType::Service,
            "server" | "host" => KeyType::Server,
            "operator" => KeyType::Operator,
            "cluster" => KeyType::Cluster,
            "user" => KeyType::User,
            "curve" | "x25519" => KeyType::Curve,
            _ => return Err(KeyError::UnknownType(s.to_string())),
        })
    }
}

/// A key's public half and seed, as shown by `wash keys gen` and `get`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    /// The key's type.
    #[serde(serialize_with = "serialize_display")]
    pub key_type: KeyType,
    /// The public key (safe to share).
    pub public_key: String,
    /// The seed (secret).
    pub seed: String,
}

fn serialize_display<S: serde::Serializer>(value: &KeyType, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

impl KeyInfo {
    /// Generates a fresh random key of `key_type`.
    pub fn generate(key_type: KeyType) -> KeyInfo {
        match key_type.nkeys_type() {
            Some(kind) => {
                let pair = KeyPair::new(kind);
                KeyInfo {
                    key_type,
                    public_key: pair.public_key(),
                    seed: pair.seed().expect("a freshly generated key pair has a seed"),
                }
            }
            None => {
                let key = XKey::new();
                KeyInfo {
                    key_type,
                    public_key: key.public_key(),
                    seed: key.seed().expect("a freshly generated xkey has a seed"),
                }
            }
        }
    }

    /// Parses a seed of any type; `origin` names where it came from in errors.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidSeed`] when `seed` is not a valid nkeys seed.
    pub fn from_seed(seed: &str, origin: &str) -> Result<KeyInfo, KeyError> {
        let seed = seed.trim();
        let invalid = |source| KeyError::InvalidSeed {
            origin: origin.to_string(),
            source,
        };
        if seed.starts_with("SX") {
            let key = XKey::from_seed(seed).map_err(invalid)?;
            return Ok(KeyInfo {
                key_type: KeyType::Curve,
                public_key: key.public_key(),
                seed: seed.to_string(),
            });
        }
        let pair = KeyPair::from_seed(seed).map_err(invalid)?;
        let key_type = KeyType::from_nkeys_type(&pair.key_pair_type()).ok_or_else(|| KeyError::UnsupportedType {
            origin: origin.to_string(),
        })?;
        Ok(KeyInfo {
            key_type,
            public_key: pair.public_key(),
            seed: seed.to_string(),
        })
    }
}

/// One key file in the key directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredKey {
    /// The file name without `.nk`, e.g. `alice_account`.
    pub name: String,
    /// Where the file is.
    pub path: PathBuf,
    /// The key itself.
    #[serde(flatten)]
    pub key: KeyInfo,
}

/// The folder keys are stored in.
#[derive(Debug, Clone)]
pub struct KeyDir {
    root: PathBuf,
}

impl KeyDir {
    /// A key directory at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> KeyDir {
        KeyDir { root: root.into() }
    }

    /// The default directory: `$HOME/.wash/keys`.
    ///
    /// `WASH_KEYS` is applied by the CLI's argument parsing, not here, so that
    /// `--help` shows it.
    pub fn default_root() -> PathBuf {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".wash")
            .join("keys")
    }

    /// The folder this key directory lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key of `name` and `kind` lives in.
    pub fn path_for(&self, name: &str, kind: KeyType) -> PathBuf {
        self.root.join(format!("{name}_{}.nk", kind.suffix()))
    }

    /// Reads the key stored as `name` (`alice_account` or `alice_account.nk`).
    ///
    /// # Errors
    ///
    /// [`KeyError::NotFound`] when there is no such file; [`KeyError::InvalidSeed`]
    /// when it does not hold a seed.
    pub fn get(&self, name: &str) -> Result<StoredKey, KeyError> {
        let name = name.strip_suffix(".nk").unwrap_or(name);
        let path = self.root.join(format!("{name}.nk"));
        if !path.is_file() {
            return Err(KeyError::NotFound {
                name: name.to_string(),
                dir: self.root.clone(),
            });
        }
        read_key(&path)
    }

    /// Lists every `.nk` file, sorted by name. A missing directory is empty.
    ///
    /// # Errors
    ///
    /// When the directory or a key file cannot be read or parsed.
    pub fn list(&self) -> Result<Vec<StoredKey>, KeyError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyError::Io {
                    path: self.root.clone(),
                    source,
                });
            }
        };
        let mut keys = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| KeyError::Io {
                    path: self.root.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|ext| ext == "nk") {
                keys.push(read_key(&path)?);
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// Loads the `kind` key named `name`, generating and storing it first when
    /// missing and `generate` is true. Returns the key and whether it was created.
    ///
    /// # Errors
    ///
    /// When the file is unreadable, holds another type of key, or is missing
    /// while `generate` is false.
    pub fn load_or_generate(&self, name: &str, kind: KeyType, generate: bool) -> Result<(KeyPair, bool), KeyError> {
        let path = self.path_for(name, kind);
        if path.is_file() {
            let stored = read_key(&path)?;
            return Ok((key_pair(&stored.key, kind, &path.display().to_string())?, false));
        }
        if !generate {
            return Err(KeyError::KeygenDisabled { path, kind });
        }
        let key = KeyInfo::generate(kind);
        self.write(&path, &key.seed)?;
        Ok((key_pair(&key, kind, &path.display().to_string())?, true))
    }

    fn write(&self, path: &Path, seed: &str) -> Result<(), KeyError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyError::Io { path, source }
        };
        create_private_dir(&self.root).map_err(io_err(&self.root))?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io_err(path))?;
        file.write_all(seed.as_bytes()).map_err(io_err(path))
    }
}

/// Turns a seed given on the command line — the seed itself or a path to a
/// file holding it — into a key pair of `kind`.
///
/// # Errors
///
/// When the value is neither a valid seed nor a readable file holding one, or
/// the key is of another type.
pub fn key_pair_from_arg(value: &str, kind: KeyType) -> Result<KeyPair, KeyError> {
    let path = Path::new(value);
    let (seed, origin) = if !value.starts_with('S') && path.is_file() {
        let seed = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        (seed, path.display().to_string())
    } else {
        (value.to_string(), "the seed given on the command line".to_string())
    };
    let key = KeyInfo::from_seed(&seed, &origin)?;
    key_pair(&key, kind, &origin)
}

fn key_pair(key: &KeyInfo, expected: KeyType, origin: &str) -> Result<KeyPair, KeyError> {
    if key.key_type != expected {
        return Err(KeyError::WrongType {
            origin: origin.to_string(),
            expected,
            found: key.key_type,
        });
    }
    KeyPair::from_seed(&key.seed).map_err(|source| KeyError::InvalidSeed {
        origin: origin.to_string(),
        source,
    })
}

fn read_key(path: &Path) -> Result<StoredKey, KeyError> {
    let seed = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let key = KeyInfo::from_seed(&seed, &path.display().to_string())?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(StoredKey {
        name,
        path: path.to_path_buf(),
        key,
    })
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_generates_a_key_that_parses_back() {
        for kind in KeyType::ALL {
            let key = KeyInfo::generate(kind);
            let parsed = KeyInfo::from_seed(&key.seed, "test").unwrap();
            assert_eq!(parsed.key_type, kind);
            assert_eq!(parsed.public_key, key.public_key);
        }
    }

    #[test]
    fn aliases_parse() {
        assert_eq!("component".parse::<KeyType>().unwrap(), KeyType::Module);
        assert_eq!("provider".parse::<KeyType>().unwrap(), KeyType::Service);
        assert_eq!("host".parse::<KeyType>().unwrap(), KeyType::Server);
        assert_eq!("x25519".parse::<KeyType>().unwrap(), KeyType::Curve);
        assert!(matches!("bogus".parse::<KeyType>(), Err(KeyError::UnknownType(_))));
    }

    #[test]
    fn load_or_generate_creates_once_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::new(dir.path().join("keys"));
        let (first, created) = keys.load_or_generate("alice", KeyType::Account, true).unwrap();
        assert!(created);
        let (second, created) = keys.load_or_generate("alice", KeyType::Account, true).unwrap();
        assert!(!created);
        assert_eq!(first.public_key(), second.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let file_mode = fs::metadata(keys.path_for("alice", KeyType::Account))
                .unwrap()
                .permissions()
                .mode();
            let dir_mode = fs::metadata(keys.root()).unwrap().permissions().mode();
            assert_eq!(file_mode & 0o777, 0o600);
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

    #[test]
    fn keygen_disabled_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::new(dir.path());
        let err = keys.load_or_generate("bob", KeyType::Module, false).unwrap_err();
        assert!(err.to_string().contains("bob_module.nk"), "{err}");
    }

    #[test]
    fn wrong_type_and_garbage_are_refused() {
        let account = KeyInfo::generate(KeyType::Account);
        let err = key_pair_from_arg(&account.seed, KeyType::Module).unwrap_err();
        assert!(matches!(err, KeyError::WrongType { .. }), "{err}");
        let err = KeyInfo::from_seed("SAnotaseed", "arg").unwrap_err();
        assert!(matches!(err, KeyError::InvalidSeed { .. }), "{err}");
    }

    #[test]
    fn list_is_sorted_and_tolerates_a_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::new(dir.path().join("absent"));
        assert!(keys.list().unwrap().is_empty());
        keys.load_or_generate("zed", KeyType::Module, true).unwrap();
        keys.load_or_generate("amy", KeyType::Account, true).unwrap();
        let names: Vec<_> = keys.list().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["amy_account", "zed_module"]);
    }
}
