//! A guest that spins forever on every request: only the runtime's execution
//! deadline can stop it.

struct Spin;

impl wasip2::exports::http::incoming_handler::Guest for Spin {
    fn handle(
        _request: wasip2::http::types::IncomingRequest,
        _out: wasip2::http::types::ResponseOutparam,
    ) {
        let mut n: u64 = 0;
        loop {
            // `black_box` keeps the optimizer from reasoning the loop away.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

wasip2::http::proxy::export!(Spin);
