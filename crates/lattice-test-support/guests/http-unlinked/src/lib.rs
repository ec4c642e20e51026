//! A guest that calls an imported capability (`test:unlinked/greeter`) for
//! each request, with the `name` query parameter (default `runtime`). With no
//! link the runtime must fail the request with an error naming the missing
//! link, never hang; with a link to the `greeter` guest the call goes over
//! wRPC and the answer is the response body.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test:unlinked/guest",
    });
}

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Unlinked;

impl wasip2::exports::http::incoming_handler::Guest for Unlinked {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_default();
        let name = target
            .split_once('?')
            .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("name=")))
            .unwrap_or("runtime");
        let text = bindings::test::unlinked::greeter::greet(name);
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
