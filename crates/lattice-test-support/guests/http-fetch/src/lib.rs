//! A guest that makes an outgoing HTTP request for every request it gets: `GET /<path>` fetches
//! `http://upstream.test/<path>` through `wasi:http/outgoing-handler` and answers with the
//! status and body it got back, or 502 with the error code's description. With no link, the
//! runtime's error must name the missing `wasi:http/outgoing-handler` link; with one, the
//! request goes over wRPC to whatever serves `wrpc:http/outgoing-handler`.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme,
};

struct Fetch;

impl wasip2::exports::http::incoming_handler::Guest for Fetch {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let (status, body) = match fetch(&path) {
            Ok(answer) => answer,
            Err(error) => (502, format!("fetch failed: {error}")),
        };
        let response = OutgoingResponse::new(Fields::new());
        response.set_status_code(status).expect("status code is valid");
        let outgoing = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().expect("stream is taken once");
        stream.blocking_write_and_flush(body.as_bytes()).expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(outgoing, None).expect("body finishes");
    }
}

/// GETs `path` from the upstream; the status and body text.
fn fetch(path: &str) -> Result<(u16, String), String> {
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| "bad scheme")?;
    request.set_authority(Some("upstream.test")).map_err(|()| "bad authority")?;
    request.set_path_with_query(Some(path)).map_err(|()| "bad path")?;
    let future = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    let response = loop {
        if let Some(result) = future.get() {
            break result
                .map_err(|()| "response taken twice".to_string())?
                .map_err(|e| format!("{e:?}"))?;
        }
        future.subscribe().block();
    };
    let status = response.status();
    let body = response.consume().map_err(|()| "body taken twice")?;
    let stream = body.stream().map_err(|()| "stream taken twice")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend(chunk),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(format!("reading the body: {e:?}")),
        }
    }
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

wasip2::http::proxy::export!(Fetch);
