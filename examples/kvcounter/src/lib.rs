//! kvcounter: an HTTP component that counts the requests to each path in a
//! key-value bucket and answers with the new count as JSON.

mod bindings {
    //! Bindings for the key-value imports in `wit/world.wit`.
    wit_bindgen::generate!({ world: "kvcounter", path: "wit", generate_all });
}

use bindings::wasi::keyvalue::{atomics, store};
use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// The bucket the counters live in.
const BUCKET: &str = "default";

struct Component;

impl wasip2::exports::http::incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let path = target.split('?').next().unwrap_or("/").to_string();
        let (status, body) = match increment(&path) {
            Ok(count) => (200, format!("{{\"path\":{},\"count\":{count}}}\n", json_string(&path))),
            Err(error) => (500, format!("{{\"error\":{}}}\n", json_string(&error))),
        };
        respond(out, status, &body);
    }
}

/// Adds one to the counter of `path` and returns the new value.
fn increment(path: &str) -> Result<u64, String> {
    let bucket = store::open(BUCKET).map_err(|e| describe(&e))?;
    atomics::increment(&bucket, &format!("counter:{path}"), 1).map_err(|e| describe(&e))
}

fn describe(error: &store::Error) -> String {
    match error {
        store::Error::NoSuchStore => format!("no key-value store named `{BUCKET}` is linked"),
        store::Error::AccessDenied => "access to the key-value store was denied".to_string(),
        store::Error::Other(message) => message.clone(),
    }
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn respond(out: ResponseOutparam, status: u16, body: &str) {
    let headers = Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())])
        .expect("a static header is valid");
    let response = OutgoingResponse::new(headers);
    response.set_status_code(status).expect("the status code is valid");
    let outgoing = response.body().expect("the body is taken once");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing.write().expect("the stream is taken once");
    stream
        .blocking_write_and_flush(body.as_bytes())
        .expect("the host accepts the body");
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("the body finishes");
}

wasip2::http::proxy::export!(Component);
