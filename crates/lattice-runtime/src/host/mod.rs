//! Host interfaces the runtime serves itself, each in the wasmtime style: a
//! `*View` trait that projects what the interface needs out of the store
//! data, and an `add_to_linker` function. WASI 0.2 and `wasi:http` come from
//! wasmtime-wasi(-http); `wasi:config`, `wasi:logging` and `wasi:keyvalue`
//! are bound here from the WIT in `crates/lattice-runtime/wit`.

pub(crate) mod bus;
pub mod config;
pub mod keyvalue;
pub mod logging;

use crate::imports::Served;

/// Bindings generated from `wit/`: the `wasi:config/store@0.2.0-draft`,
/// `wasi:logging/logging@0.1.0-draft`,
/// `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft` and `wasmcloud:bus/lattice`
/// imports. Key-value calls are async: a backend or a link may go over the network.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasmcloud:runtime/host",
        imports: {
            "wasi:keyvalue": async | trappable,
            "wasmcloud:bus": trappable,
        },
        with: {
            "wasi:keyvalue/store.bucket": super::keyvalue::Bucket,
            "wasmcloud:bus/lattice@1.0.0.call-target-interface": super::bus::TargetInterface,
            "wasmcloud:bus/lattice@2.0.1.call-target-interface": super::bus::TargetInterface,
        },
    });
}

/// What the built-ins serve, for [`crate::imports`] to tell them from linked imports: WASI
/// 0.2 and `wasi:http` (types and outgoing handler) from wasmtime-wasi(-http), and the
/// interfaces bound here.
pub(crate) const SERVED: &[Served] = &[
    Served {
        package: "wasi:cli",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:clocks",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:filesystem",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:io",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:random",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:sockets",
        interfaces: &[],
        version: "0.2",
    },
    Served {
        package: "wasi:http",
        interfaces: &["types", "outgoing-handler"],
        version: "0.2",
    },
    config::SERVED,
    logging::SERVED,
    keyvalue::SERVED,
    bus::SERVED_1,
    bus::SERVED_2,
];
