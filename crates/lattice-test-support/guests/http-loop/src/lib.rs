//! A guest that never finishes a request: on `/sleep` it blocks in a host
//! call (a clock subscription that never fires), on any other path it spins
//! in wasm. Only the runtime's execution deadline can stop either.

use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Spin;

impl wasip2::exports::http::incoming_handler::Guest for Spin {
    fn handle(request: IncomingRequest, _out: ResponseOutparam) {
        if request.path_with_query().as_deref() == Some("/sleep") {
            // Parked in the host: no wasm runs, so no epoch check happens.
            wasip2::clocks::monotonic_clock::subscribe_duration(u64::MAX).block();
        }
        let mut n: u64 = 0;
        loop {
            // `black_box` keeps the optimizer from reasoning the loop away.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

wasip2::http::proxy::export!(Spin);
