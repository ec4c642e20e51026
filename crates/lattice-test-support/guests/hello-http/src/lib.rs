//! The smallest useful HTTP component: answers every request with
//! `hello from <path>`. Tests and benchmarks use it as the reference guest.

use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let body_text = format!("hello from {path}\n");
        let headers = Fields::from_list(&[(
            "content-type".to_string(),
            b"text/plain".to_vec(),
        )])
        .expect("static header is valid");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream
            .blocking_write_and_flush(body_text.as_bytes())
            .expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Hello);
