//! hello: an HTTP component that answers every request with a greeting.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Component;

impl wasip2::exports::http::incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let text = format!("Hello from hello! You asked for {path}\n");
        let headers = Fields::from_list(&[("content-type".to_string(), b"text/plain".to_vec())])
            .expect("a static header is valid");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("the stream is taken once");
        stream
            .blocking_write_and_flush(text.as_bytes())
            .expect("the host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("the body finishes");
    }
}

wasip2::http::proxy::export!(Component);
