//! A guest that calls an imported capability (`test:unlinked/greeter`) that
//! no link provides: the runtime must fail the request with an error naming
//! the missing link, never hang.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test:unlinked/guest",
    });
}

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Unlinked;

impl wasip2::exports::http::incoming_handler::Guest for Unlinked {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let text = bindings::test::unlinked::greeter::greet("runtime");
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream.blocking_write_and_flush(text.as_bytes()).expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Unlinked);
