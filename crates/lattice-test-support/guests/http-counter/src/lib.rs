//! A guest that counts the requests its instance has served and answers with
//! the count: `1` on every request proves each request gets a fresh instance.

use std::sync::atomic::{AtomicU32, Ordering};

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

static SERVED: AtomicU32 = AtomicU32::new(0);

struct Counter;

impl wasip2::exports::http::incoming_handler::Guest for Counter {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let count = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream
            .blocking_write_and_flush(count.to_string().as_bytes())
            .expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Counter);
