//! Host label payloads for `label.put` and `label.del`.

use serde::{Deserialize, Serialize};

/// Body of `label.put.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLabel {
    /// The label key; hosts refuse keys starting `hostcore.`.
    pub key: String,
    /// The label value.
    pub value: String,
}

/// Body of `label.del.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLabelIdentifier {
    /// The label key to delete.
    pub key: String,
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn label_json() {
        let put = HostLabel {
            key: "zone".into(),
            value: "eu".into(),
        };
        expect![[r#"{"key":"zone","value":"eu"}"#]].assert_eq(&serde_json::to_string(&put).unwrap());
        let del = HostLabelIdentifier { key: "zone".into() };
        expect![[r#"{"key":"zone"}"#]].assert_eq(&serde_json::to_string(&del).unwrap());
    }
}
