//! A guest that answers at once with `echo:` and then streams the request
//! body back as it arrives, so a test can hold a request in flight (by not
//! finishing its body) after seeing the response head: the HTTP ingress's
//! graceful-shutdown test uses it.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Echo;

impl wasip2::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let output = body.write().expect("stream is taken once");
        output.blocking_write_and_flush(b"echo:").expect("host accepts the body");

        let incoming = request.consume().expect("request body is taken once");
        let input = incoming.stream().expect("stream is taken once");
        // `blocking_read` waits for data and fails once the body is complete.
        while let Ok(chunk) = input.blocking_read(4096) {
            output.blocking_write_and_flush(&chunk).expect("host accepts the body");
        }
        drop(input);
        drop(incoming);
        drop(output);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Echo);
