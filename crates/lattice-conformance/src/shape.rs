//! Field-for-field checks of JSON payloads against the v1 wire shapes: which
//! fields must be there, which may be left out or null, and the JSON type of
//! each. A mismatch is reported by field name, so a failing check says what
//! to fix.

use serde_json::Value;

/// A JSON type as the wire reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Bool,
    /// A non-negative integer.
    U64,
    /// Any integer.
    I64,
    Array,
    /// An object whose values are all strings.
    StrMap,
    Object,
}

impl Ty {
    fn matches(self, value: &Value) -> bool {
        match self {
            Self::Str => value.is_string(),
            Self::Bool => value.is_boolean(),
            Self::U64 => value.is_u64(),
            Self::I64 => value.is_i64() || value.is_u64(),
            Self::Array => value.is_array(),
            Self::StrMap => value.as_object().is_some_and(|m| m.values().all(Value::is_string)),
            Self::Object => value.is_object(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Str => "a string",
            Self::Bool => "a boolean",
            Self::U64 => "a non-negative integer",
            Self::I64 => "an integer",
            Self::Array => "an array",
            Self::StrMap => "an object of strings",
            Self::Object => "an object",
        }
    }
}

/// Whether a field must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Present and of its type.
    Required,
    /// Present, of its type or `null` (serialized even when empty).
    Nullable,
    /// Absent, `null`, or of its type.
    Optional,
}

/// One field of a shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    name: &'static str,
    ty: Ty,
    presence: Presence,
}

pub(crate) const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        presence: Presence::Required,
    }
}

pub(crate) const fn nullable(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        presence: Presence::Nullable,
    }
}

pub(crate) const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        presence: Presence::Optional,
    }
}

/// Checks `value` is an object with every field of `shape`; names each mismatch.
pub(crate) fn check(value: &Value, shape: &[Field]) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(format!("expected an object, got {}", brief(value)));
    };
    let mut problems = Vec::new();
    for field in shape {
        match (object.get(field.name), field.presence) {
            (None, Presence::Optional) | (Some(Value::Null), Presence::Optional | Presence::Nullable) => {}
            (None, _) => problems.push(format!("`{}` missing", field.name)),
            (Some(Value::Null), Presence::Required) => {
                problems.push(format!("`{}` is null, expected {}", field.name, field.ty.name()));
            }
            (Some(found), _) if !field.ty.matches(found) => {
                problems.push(format!(
                    "`{}` is {}, expected {}",
                    field.name,
                    brief(found),
                    field.ty.name()
                ));
            }
            (Some(_), _) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Checks `value[key]` equals `expected`.
pub(crate) fn equals(value: &Value, key: &str, expected: &Value) -> Result<(), String> {
    match value.get(key) {
        Some(found) if found == expected => Ok(()),
        Some(found) => Err(format!("`{key}` is {found}, expected {expected}")),
        None => Err(format!("`{key}` missing, expected {expected}")),
    }
}

/// A value shortened for a message.
pub(crate) fn brief(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        let cut = (0..=117).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("{}…", &text[..cut])
    } else {
        text
    }
}

/// The `CtlResponse` envelope: `success`, `message` always, `response` only when there is one.
pub(crate) const ENVELOPE: &[Field] = &[req("success", Ty::Bool), req("message", Ty::Str)];

/// `Host`, a `host.ping` answer.
pub(crate) const HOST: &[Field] = &[
    req("id", Ty::Str),
    req("friendly_name", Ty::Str),
    req("labels", Ty::StrMap),
    req("lattice", Ty::Str),
    req("uptime_seconds", Ty::U64),
    opt("uptime_human", Ty::Str),
    opt("version", Ty::Str),
    opt("ctl_host", Ty::Str),
    opt("rpc_host", Ty::Str),
    opt("js_domain", Ty::Str),
];

/// `HostInventory`, a `host.get` answer and the heartbeat's data.
pub(crate) const INVENTORY: &[Field] = &[
    req("components", Ty::Array),
    req("providers", Ty::Array),
    req("host_id", Ty::Str),
    req("friendly_name", Ty::Str),
    req("labels", Ty::StrMap),
    req("version", Ty::Str),
    req("uptime_human", Ty::Str),
    req("uptime_seconds", Ty::U64),
];

/// `ComponentDescription`, an inventory entry.
pub(crate) const COMPONENT_DESCRIPTION: &[Field] = &[
    req("id", Ty::Str),
    req("image_ref", Ty::Str),
    opt("name", Ty::Str),
    opt("annotations", Ty::StrMap),
    req("revision", Ty::I64),
    req("max_instances", Ty::U64),
    nullable("limits", Ty::StrMap),
];

/// `ProviderDescription`, an inventory entry.
pub(crate) const PROVIDER_DESCRIPTION: &[Field] = &[
    req("id", Ty::Str),
    opt("image_ref", Ty::Str),
    opt("name", Ty::Str),
    req("revision", Ty::I64),
    opt("annotations", Ty::StrMap),
];

/// `ComponentAuctionAck`.
pub(crate) const COMPONENT_ACK: &[Field] = &[
    req("component_ref", Ty::Str),
    req("component_id", Ty::Str),
    req("host_id", Ty::Str),
    req("constraints", Ty::StrMap),
];

/// `ProviderAuctionAck`.
pub(crate) const PROVIDER_ACK: &[Field] = &[
    req("provider_ref", Ty::Str),
    req("provider_id", Ty::Str),
    req("host_id", Ty::Str),
    req("constraints", Ty::StrMap),
];

/// A control-interface `Link` (`link.get` entries).
pub(crate) const LINK: &[Field] = &[
    req("source_id", Ty::Str),
    req("target", Ty::Str),
    req("name", Ty::Str),
    req("wit_namespace", Ty::Str),
    req("wit_package", Ty::Str),
    req("interfaces", Ty::Array),
    req("source_config", Ty::Array),
    req("target_config", Ty::Array),
];

/// The provider-facing link (`linkdefs.put`/`linkdefs.del` payloads).
pub(crate) const INTERFACE_LINK: &[Field] = &[
    req("source_id", Ty::Str),
    req("target", Ty::Str),
    req("name", Ty::Str),
    req("wit_namespace", Ty::Str),
    req("wit_package", Ty::Str),
    req("interfaces", Ty::Array),
    req("source_config", Ty::StrMap),
    req("target_config", Ty::StrMap),
    opt("source_secrets", Ty::Array),
    opt("target_secrets", Ty::Array),
];

/// A component's `claims.get` entry: every value a string.
pub(crate) const COMPONENT_CLAIMS: &[Field] = &[
    req("call_alias", Ty::Str),
    req("iss", Ty::Str),
    req("issuer", Ty::Str),
    req("name", Ty::Str),
    req("rev", Ty::Str),
    req("revision", Ty::Str),
    req("sub", Ty::Str),
    req("subject", Ty::Str),
    req("tags", Ty::Str),
    req("version", Ty::Str),
];

/// The CloudEvents envelope of every event.
pub(crate) const CLOUD_EVENT: &[Field] = &[
    req("specversion", Ty::Str),
    req("id", Ty::Str),
    req("type", Ty::Str),
    req("source", Ty::Str),
    req("time", Ty::Str),
    req("datacontenttype", Ty::Str),
    req("data", Ty::Object),
];

/// `component_scaled` data.
pub(crate) const COMPONENT_SCALED: &[Field] = &[
    req("annotations", Ty::StrMap),
    req("host_id", Ty::Str),
    req("image_ref", Ty::Str),
    req("max_instances", Ty::U64),
    req("component_id", Ty::Str),
    opt("public_key", Ty::Str),
    opt("claims", Ty::Object),
];

/// The `claims` object of `component_scaled` when the component is signed.
pub(crate) const SCALED_CLAIMS: &[Field] = &[
    opt("call_alias", Ty::Str),
    req("issuer", Ty::Str),
    opt("tags", Ty::Array),
    opt("name", Ty::Str),
    opt("version", Ty::Str),
    opt("revision", Ty::I64),
    req("not_before_human", Ty::Str),
    req("expires_human", Ty::Str),
];

/// `provider_started` data.
pub(crate) const PROVIDER_STARTED: &[Field] = &[
    req("host_id", Ty::Str),
    req("image_ref", Ty::Str),
    req("provider_id", Ty::Str),
    req("annotations", Ty::StrMap),
];

/// `provider_stopped` data.
pub(crate) const PROVIDER_STOPPED: &[Field] = &[
    req("host_id", Ty::Str),
    req("provider_id", Ty::Str),
    req("annotations", Ty::StrMap),
    req("reason", Ty::Str),
];

/// `linkdef_set` data.
pub(crate) const LINKDEF_SET: &[Field] = LINK;

/// `linkdef_deleted` data when the link existed.
pub(crate) const LINKDEF_DELETED: &[Field] = &[
    req("source_id", Ty::Str),
    req("name", Ty::Str),
    req("wit_namespace", Ty::Str),
    req("wit_package", Ty::Str),
    opt("target", Ty::Str),
    opt("interfaces", Ty::Array),
];

/// `labels_changed` data.
pub(crate) const LABELS_CHANGED: &[Field] = &[req("host_id", Ty::Str), req("labels", Ty::StrMap)];

/// `config_set` / `config_deleted` data.
pub(crate) const CONFIG_EVENT: &[Field] = &[req("config_name", Ty::Str)];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_payload_of_the_right_shape_passes() {
        let host = json!({
            "id": "NABC", "friendly_name": "x", "labels": {"hostcore.os": "linux"},
            "lattice": "default", "uptime_seconds": 3, "version": "1.0.0", "js_domain": null
        });
        assert_eq!(check(&host, HOST), Ok(()));
    }

    #[test]
    fn each_mismatch_is_named() {
        let host = json!({
            "friendly_name": 7, "labels": {"a": 1}, "lattice": null, "uptime_seconds": -1, "version": 2
        });
        let problems = check(&host, HOST).unwrap_err();
        for expected in [
            "`id` missing",
            "`friendly_name` is 7, expected a string",
            "`labels` is {\"a\":1}, expected an object of strings",
            "`lattice` is null",
            "`uptime_seconds` is -1, expected a non-negative integer",
            "`version` is 2, expected a string",
        ] {
            assert!(problems.contains(expected), "{expected:?} not in {problems:?}");
        }
        assert_eq!(check(&json!([1]), HOST), Err("expected an object, got [1]".into()));
    }

    #[test]
    fn nullable_fields_must_be_serialized() {
        let entry = json!({"id": "c", "image_ref": "r", "revision": 0, "max_instances": 1});
        assert_eq!(check(&entry, COMPONENT_DESCRIPTION), Err("`limits` missing".into()));
        let entry = json!({"id": "c", "image_ref": "r", "revision": 0, "max_instances": 1, "limits": null});
        assert_eq!(check(&entry, COMPONENT_DESCRIPTION), Ok(()));
    }

    #[test]
    fn equality_names_the_field_and_both_values() {
        let data = json!({"max_instances": 2});
        assert_eq!(equals(&data, "max_instances", &json!(2)), Ok(()));
        assert_eq!(
            equals(&data, "max_instances", &json!(0)),
            Err("`max_instances` is 2, expected 0".into())
        );
        assert_eq!(equals(&data, "x", &json!(0)), Err("`x` missing, expected 0".into()));
    }

    #[test]
    fn long_values_are_shortened_on_a_character_boundary() {
        let long = Value::String("é".repeat(100));
        let shown = brief(&long);
        assert!(shown.ends_with('…') && shown.len() <= 121, "{shown}");
    }
}
