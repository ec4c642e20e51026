//! The `{success, message, response}` envelope every control reply uses.

use serde::{Deserialize, Serialize};

/// The reply to every control-interface request: `{"success", "message", "response"?}`.
///
/// Hosts answer with `message: ""` on a plain success, a human-readable text
/// on an acknowledgement or a refusal, and `response` only when there is a
/// payload. When even that envelope fails to serialise, hosts send the
/// last-ditch `{"success":false,"error":"…"}`; decoding accepts `error` as a
/// spelling of `message` so that reply still reads as a refusal with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtlResponse<T> {
    /// Whether the host accepted the request.
    pub success: bool,
    /// Empty on a plain success; an acknowledgement, warning or error text otherwise.
    #[serde(default, alias = "error")]
    pub message: String,
    /// The payload, omitted when there is none. (No `default` attribute: serde
    /// already reads a missing `Option` as `None`, and `default` would demand `T: Default`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<T>,
}

impl<T> CtlResponse<T> {
    /// Success with a payload and an empty message.
    pub fn ok(response: T) -> Self {
        Self {
            success: true,
            message: String::new(),
            response: Some(response),
        }
    }

    /// A refusal with its reason and no payload.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            success: false,
            message: message.into(),
            response: None,
        }
    }
}

impl CtlResponse<()> {
    /// Success with a message and no payload, e.g. `"successfully put label"`.
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            success: true,
            message: message.into(),
            response: None,
        }
    }
}

/// The reply hosts send when a subject names no operation they know.
pub const UNSUPPORTED_SUBJECT: &str = "unsupported subject";

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn envelopes_serialise_like_upstream() {
        let ok = serde_json::to_string(&CtlResponse::ok(vec![1, 2])).unwrap();
        expect![[r#"{"success":true,"message":"","response":[1,2]}"#]].assert_eq(&ok);
        let acked = serde_json::to_string(&CtlResponse::success("successfully put label")).unwrap();
        expect![[r#"{"success":true,"message":"successfully put label"}"#]].assert_eq(&acked);
        let refused = serde_json::to_string(&CtlResponse::<()>::error(UNSUPPORTED_SUBJECT)).unwrap();
        expect![[r#"{"success":false,"message":"unsupported subject"}"#]].assert_eq(&refused);
    }

    #[test]
    fn decodes_the_error_fallback_spelling() {
        let reply: CtlResponse<serde_json::Value> =
            serde_json::from_str(r#"{"success":false,"error":"serialisation failed"}"#).unwrap();
        assert_eq!(reply, CtlResponse::error("serialisation failed"));
    }

    #[test]
    fn decodes_a_reply_without_message_or_response() {
        let reply: CtlResponse<u32> = serde_json::from_str(r#"{"success":true}"#).unwrap();
        assert_eq!(reply.message, "");
        assert_eq!(reply.response, None);
    }

    #[test]
    fn decodes_config_not_found() {
        let reply: CtlResponse<std::collections::BTreeMap<String, String>> =
            serde_json::from_str(r#"{"success":true,"message":"Configuration not found"}"#).unwrap();
        assert!(reply.success);
        assert_eq!(reply.response, None);
    }
}
