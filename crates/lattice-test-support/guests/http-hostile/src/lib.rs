//! A guest that abuses what the host gives every component, one abuse per
//! path, so tests can check each is bounded without affecting others:
//!
//! - `/tcp` and `/udp`: create sockets in a loop, keeping them open, and
//!   answer how many were created before the first error;
//! - `/lookup`: resolve a name;
//! - `/pollables?N`: create N clock pollables (default a million), keeping
//!   them, and answer `held N` unless the host refuses one (the resource
//!   table is full: a trap);
//! - `/flood?N`: write N lines to stdout and N through `wasi:logging`, then
//!   answer `wrote N`.

mod bindings {
    wit_bindgen::generate!({
        path: "../../../lattice-runtime/wit",
        world: "wasmcloud:runtime/host",
        generate_all,
    });
}

use std::io::Write as _;

use bindings::wasi::logging::logging::{Level, log};
use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::sockets::network::IpAddressFamily;

/// Sockets asked for on `/tcp` and `/udp`.
const SOCKETS: usize = 64;

struct Hostile;

impl wasip2::exports::http::incoming_handler::Guest for Hostile {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (path, query) = path.split_once('?').unwrap_or((&path, ""));
        let text = match path {
            "/tcp" => {
                let mut open = Vec::new();
                let mut error = None;
                for _ in 0..SOCKETS {
                    match wasip2::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4) {
                        Ok(socket) => open.push(socket),
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                format!("opened {} tcp sockets, then: {error:?}\n", open.len())
            }
            "/udp" => {
                let mut open = Vec::new();
                let mut error = None;
                for _ in 0..SOCKETS {
                    match wasip2::sockets::udp_create_socket::create_udp_socket(IpAddressFamily::Ipv4) {
                        Ok(socket) => open.push(socket),
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                format!("opened {} udp sockets, then: {error:?}\n", open.len())
            }
            "/lookup" => {
                let network = wasip2::sockets::instance_network::instance_network();
                match wasip2::sockets::ip_name_lookup::resolve_addresses(&network, "localhost") {
                    Ok(_stream) => "lookup started\n".to_owned(),
                    Err(e) => format!("lookup refused: {e:?}\n"),
                }
            }
            "/pollables" => {
                let count: usize = query.parse().unwrap_or(1_000_000);
                // Traps when the host's resource table is full.
                let held: Vec<_> = (0..count)
                    .map(|_| wasip2::clocks::monotonic_clock::subscribe_duration(u64::MAX))
                    .collect();
                format!("held {} pollables\n", held.len())
            }
            "/flood" => {
                let lines: usize = query.parse().unwrap_or(1000);
                let mut stdout = std::io::stdout().lock();
                for i in 0..lines {
                    writeln!(stdout, "flood stdout line {i}").expect("stdout accepts lines");
                    log(Level::Info, "http-hostile", &format!("flood logging line {i}"));
                }
                stdout.flush().expect("stdout flushes");
                format!("wrote {lines}\n")
            }
            other => format!("unknown path {other}\n"),
        };

        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("stream is taken once");
        stream.blocking_write_and_flush(text.as_bytes()).expect("host accepts the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("body finishes");
    }
}

wasip2::http::proxy::export!(Hostile);
