//! A guest that allocates memory until allocation fails: the runtime's
//! linear-memory cap must stop it without affecting other components.

struct Hog;

impl wasip2::exports::http::incoming_handler::Guest for Hog {
    fn handle(
        _request: wasip2::http::types::IncomingRequest,
        _out: wasip2::http::types::ResponseOutparam,
    ) {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the memory is really used, and keep it.
            hoard.push(std::hint::black_box(vec![1_u8; 1 << 20]));
        }
    }
}

wasip2::http::proxy::export!(Hog);
