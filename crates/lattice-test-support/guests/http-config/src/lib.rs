//! A guest that answers with its `wasi:config/store` values, one `key=value`
//! line each in key order, and logs each request through `wasi:logging` and
//! stdout, so tests can check config merging and guest logging.

mod bindings {
    wit_bindgen::generate!({
        path: "../../../lattice-runtime/wit",
        world: "wasmcloud:runtime/host",
        generate_all,
    });
}

use bindings::wasi::config::store;
use bindings::wasi::logging::logging::{Level, log};
use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Config;

impl wasip2::exports::http::incoming_handler::Guest for Config {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        log(Level::Info, "http-config", &format!("serving {path}"));
        println!("http-config stdout line for {path}");

        let mut text = String::new();
        match store::get_all() {
            Ok(mut pairs) => {
                pairs.sort();
                for (key, value) in pairs {
                    text.push_str(&format!("{key}={value}\n"));
                }
            }
            Err(e) => text.push_str(&format!("get-all failed: {e:?}\n")),
        }
        // `get` must agree with `get-all` for a key that may be overridden.
        match store::get("shared") {
            Ok(Some(value)) => text.push_str(&format!("get(shared)={value}\n")),
            Ok(None) => text.push_str("get(shared)=<none>\n"),
            Err(e) => text.push_str(&format!("get failed: {e:?}\n")),
        }

        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream.blocking_write_and_flush(text.as_bytes()).expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Config);
