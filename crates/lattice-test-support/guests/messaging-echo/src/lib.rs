//! Exports `wasmcloud:messaging/handler`: each message is answered on its `reply-to` subject
//! with `echo: <body>`, published through `wasmcloud:messaging/consumer` (so both directions of
//! the messaging provider are used). A message without `reply-to` is refused with an error.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test:messaging/echo",
        generate_all,
    });
}

use bindings::exports::wasmcloud::messaging::handler::Guest;
use bindings::wasmcloud::messaging::consumer;
use bindings::wasmcloud::messaging::types::BrokerMessage;

struct Echo;

impl Guest for Echo {
    fn handle_message(msg: BrokerMessage) -> Result<(), String> {
        let reply_to = msg
            .reply_to
            .ok_or_else(|| format!("message on `{}` has no reply-to: nothing to answer", msg.subject))?;
        let mut body = b"echo: ".to_vec();
        body.extend_from_slice(&msg.body);
        consumer::publish(&BrokerMessage {
            subject: reply_to,
            body,
            reply_to: None,
        })
    }
}

bindings::export!(Echo with_types_in bindings);
