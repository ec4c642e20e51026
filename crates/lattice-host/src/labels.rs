//! The host's labels: `hostcore.*` defaults describing the machine, plus
//! labels from the configuration and from `label.put`. Auctions match
//! constraints against them.

use std::collections::BTreeMap;
use std::sync::RwLock;

use lattice_control_interface::RESERVED_LABEL_PREFIX;

/// Why a label change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label key `{0}` is reserved: keys starting with `hostcore.` are set by the host and cannot be changed")]
pub(crate) struct ReservedLabel(String);

/// The host's current labels.
#[derive(Debug)]
pub(crate) struct Labels {
    labels: RwLock<BTreeMap<String, String>>,
}

/// Whether `key` is one the host owns (`hostcore.`, any case).
fn is_reserved(key: &str) -> bool {
    key.get(..RESERVED_LABEL_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(RESERVED_LABEL_PREFIX))
}

impl Labels {
    /// The defaults (`hostcore.arch`, `hostcore.os`, `hostcore.osfamily`)
    /// plus `configured`; configured keys that are reserved are ignored.
    pub(crate) fn new(configured: &BTreeMap<String, String>) -> Self {
        let mut labels = BTreeMap::from([
            ("hostcore.arch".to_owned(), std::env::consts::ARCH.to_owned()),
            ("hostcore.os".to_owned(), std::env::consts::OS.to_owned()),
            ("hostcore.osfamily".to_owned(), std::env::consts::FAMILY.to_owned()),
        ]);
        for (key, value) in configured {
            if is_reserved(key) {
                tracing::warn!(%key, "ignoring a configured label with a reserved key");
            } else {
                labels.insert(key.clone(), value.clone());
            }
        }
        Self {
            labels: RwLock::new(labels),
        }
    }

    /// A copy of the current labels.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, String> {
        self.labels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether every constraint equals the label of the same key.
    pub(crate) fn satisfy(&self, constraints: &BTreeMap<String, String>) -> bool {
        let labels = self.labels.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        constraints.iter().all(|(key, value)| labels.get(key) == Some(value))
    }

    /// Sets a label, returning the labels after the change.
    pub(crate) fn put(&self, key: &str, value: &str) -> Result<BTreeMap<String, String>, ReservedLabel> {
        if is_reserved(key) {
            return Err(ReservedLabel(key.to_owned()));
        }
        let mut labels = self.labels.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        labels.insert(key.to_owned(), value.to_owned());
        Ok(labels.clone())
    }

    /// Removes a label; `None` when there was no such label.
    pub(crate) fn delete(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, ReservedLabel> {
        if is_reserved(key) {
            return Err(ReservedLabel(key.to_owned()));
        }
        let mut labels = self.labels.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(labels.remove(key).map(|_| labels.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_reserved_keys() {
        let configured = BTreeMap::from([
            ("zone".to_owned(), "eu".to_owned()),
            ("HostCore.os".to_owned(), "plan9".to_owned()),
        ]);
        let labels = Labels::new(&configured);
        let snapshot = labels.snapshot();
        assert_eq!(snapshot["hostcore.os"], std::env::consts::OS);
        assert_eq!(snapshot["zone"], "eu");
        assert!(!snapshot.contains_key("HostCore.os"));
        assert!(labels.put("HOSTCORE.arch", "x").is_err());
        assert!(labels.delete("hostcore.arch").is_err());
    }

    #[test]
    fn put_delete_and_constraints() {
        let labels = Labels::new(&BTreeMap::new());
        let after = labels.put("zone", "eu").unwrap();
        assert_eq!(after["zone"], "eu");
        assert!(labels.satisfy(&BTreeMap::from([("zone".to_owned(), "eu".to_owned())])));
        assert!(!labels.satisfy(&BTreeMap::from([("zone".to_owned(), "us".to_owned())])));
        assert!(labels.satisfy(&BTreeMap::new()));
        assert!(labels.delete("zone").unwrap().is_some());
        assert!(labels.delete("zone").unwrap().is_none());
    }
}
