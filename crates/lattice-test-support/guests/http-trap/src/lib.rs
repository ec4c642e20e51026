//! A guest that panics on every request, before answering: the runtime must
//! report a trap for that request and keep serving others.

struct Trap;

impl wasip2::exports::http::incoming_handler::Guest for Trap {
    fn handle(
        _request: wasip2::http::types::IncomingRequest,
        _out: wasip2::http::types::ResponseOutparam,
    ) {
        panic!("http-trap panics on purpose");
    }
}

wasip2::http::proxy::export!(Trap);
