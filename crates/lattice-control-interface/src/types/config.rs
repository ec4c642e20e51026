//! Named configuration: `config.put/get/del.{name}` carry a flat string map.

use std::collections::BTreeMap;

/// A named configuration's values: the body of `config.put` and the payload
/// of a `config.get` reply. A flat JSON object of strings.
pub type ConfigValues = BTreeMap<String, String>;

/// The message of a successful `config.get` reply for a name that has no
/// configuration (the reply then has no `response`).
pub const CONFIG_NOT_FOUND: &str = "Configuration not found";

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::types::response::CtlResponse;

    #[test]
    fn config_json() {
        let values = ConfigValues::from([
            ("address".to_owned(), "0.0.0.0:8080".to_owned()),
            ("timeout".to_owned(), "5s".to_owned()),
        ]);
        expect![[r#"{"address":"0.0.0.0:8080","timeout":"5s"}"#]].assert_eq(&serde_json::to_string(&values).unwrap());
        expect![[r#"{"success":true,"message":"","response":{"address":"0.0.0.0:8080","timeout":"5s"}}"#]]
            .assert_eq(&serde_json::to_string(&CtlResponse::ok(values)).unwrap());
        let missing = CtlResponse::success(CONFIG_NOT_FOUND);
        expect![[r#"{"success":true,"message":"Configuration not found"}"#]]
            .assert_eq(&serde_json::to_string(&missing).unwrap());
    }

    #[test]
    fn config_values_must_be_strings() {
        assert!(serde_json::from_str::<ConfigValues>(r#"{"port":8080}"#).is_err());
    }
}
