//! Identifier newtypes: distinct types in Rust, plain strings on the wire.
//!
//! A host ID, a component ID and a link name are all strings on the wire,
//! and mixing them up compiles fine with bare `String`s. The newtypes make
//! such mistakes type errors while serialising exactly as the string would
//! (`#[serde(transparent)]`).

use std::borrow::Borrow;
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string without checking it: IDs are whatever the lattice says they are.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The ID as it appears on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Lets maps keyed by the ID be looked up with a `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

// Empty by default; `LinkName` alone defaults to `"default"`, as on the wire.
macro_rules! empty_default {
    ($($name:ident),*) => {
        $(impl Default for $name {
            fn default() -> Self {
                Self(String::new())
            }
        })*
    };
}

empty_default!(HostId, ComponentId, ProviderId, ConfigName);

string_id! {
    /// A host's public nkey (`N…`). Events carry it as their `source`.
    HostId
}

string_id! {
    /// A component's ID, unique in the lattice. Links also use this type for
    /// their source and target, which may name a provider: on the wire both
    /// kinds of ID are the same plain string.
    ComponentId
}

string_id! {
    /// A capability provider's ID, unique in the lattice.
    ProviderId
}

string_id! {
    /// The name of a link; `"default"` unless the link says otherwise.
    LinkName
}

string_id! {
    /// The name of a named configuration. Names starting with `SECRET` are
    /// references to secrets rather than plain values.
    ConfigName
}

impl LinkName {
    /// The name links get when none is given.
    pub const DEFAULT: &str = "default";

    /// `"default"`, the name of a link put without a name.
    pub fn default_name() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl Default for LinkName {
    /// `"default"`: links put without a name get this one.
    fn default() -> Self {
        Self::default_name()
    }
}

impl ConfigName {
    /// Whether this names a secret reference rather than plain configuration.
    pub fn is_secret(&self) -> bool {
        self.0.starts_with("SECRET")
    }
}

impl From<ProviderId> for ComponentId {
    /// Providers are link sources and targets like components are.
    fn from(id: ProviderId) -> Self {
        Self(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = HostId::new("NHOST");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""NHOST""#);
        let back: HostId = serde_json::from_str(r#""NHOST""#).unwrap();
        assert_eq!(back, id);
        assert_eq!(back, "NHOST");
    }

    #[test]
    fn link_name_defaults_to_default() {
        assert_eq!(LinkName::default_name().as_str(), "default");
        assert_eq!(LinkName::default(), "default");
    }

    #[test]
    fn secret_config_names_are_recognised() {
        assert!(ConfigName::new("SECRET_db").is_secret());
        assert!(!ConfigName::new("db").is_secret());
    }
}
