//! Identifier newtypes: plain strings on the wire, distinct types inside.

use std::fmt;
use std::sync::Arc;

/// Identifies a component within the runtime (the wasmCloud component id,
/// e.g. `http-hello-world`). Cheap to clone: log lines and every store
/// carry it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(Arc<str>);

impl ComponentId {
    /// Wraps an id.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ComponentId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for ComponentId {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}

impl AsRef<str> for ComponentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_plain_id() {
        let id = ComponentId::from("http-hello");
        assert_eq!(id.to_string(), "http-hello");
        assert_eq!(id.as_str(), "http-hello");
        assert_eq!(id, ComponentId::new(String::from("http-hello")));
    }
}
