//! Host interfaces the runtime serves itself, each in the wasmtime style: a
//! `*View` trait that projects what the interface needs out of the store
//! data, and an `add_to_linker` function. WASI 0.2 and `wasi:http` come from
//! wasmtime-wasi(-http); `wasi:config`, `wasi:logging` and `wasi:keyvalue`
//! are bound here from the WIT in `crates/wasmcloud-runtime/wit`.

pub mod config;
pub mod keyvalue;
pub mod logging;

/// Bindings generated from `wit/`: the `wasi:config/store@0.2.0-draft`,
/// `wasi:logging/logging@0.1.0-draft` and
/// `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft` imports. Key-value calls
/// are async: a backend may go over the network.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasmcloud:runtime/host",
        imports: { "wasi:keyvalue": async | trappable },
        with: { "wasi:keyvalue/store.bucket": super::keyvalue::Bucket },
    });
}

/// Interfaces served locally, by fully qualified import name prefix. An
/// import matching none of these goes to the [`crate::ImportRouter`]. The
/// WASI packages match any 0.2 version because wasmtime's linker resolves
/// semver-compatible versions; the draft interfaces match exactly.
pub(crate) const LOCAL_INTERFACES: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
    "wasi:http/types@",
    "wasi:http/outgoing-handler@",
    "wasi:config/store@0.2.0-draft",
    "wasi:logging/logging@0.1.0-draft",
    "wasi:keyvalue/store@0.2.0-draft",
    "wasi:keyvalue/atomics@0.2.0-draft",
    "wasi:keyvalue/batch@0.2.0-draft",
];

/// Whether the runtime serves the import `name` itself.
pub(crate) fn is_local(name: &str) -> bool {
    LOCAL_INTERFACES.iter().any(|prefix| {
        if prefix.ends_with('/') || prefix.ends_with('@') {
            name.starts_with(prefix)
        } else {
            name == *prefix
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn wasi_and_served_drafts_are_local() {
        assert!(is_local("wasi:cli/environment@0.2.0"));
        assert!(is_local("wasi:io/streams@0.2.6"));
        assert!(is_local("wasi:http/types@0.2.3"));
        assert!(is_local("wasi:config/store@0.2.0-draft"));
        assert!(is_local("wasi:logging/logging@0.1.0-draft"));
        assert!(is_local("wasi:keyvalue/store@0.2.0-draft"));
        assert!(is_local("wasi:keyvalue/batch@0.2.0-draft"));
    }

    #[test]
    fn capabilities_are_not_local() {
        assert!(!is_local("wasi:blobstore/blobstore@0.2.0-draft"));
        assert!(!is_local("wasi:keyvalue/store@0.2.0-draft2"));
        assert!(!is_local("wasi:http/incoming-handler@0.2.0"));
        assert!(!is_local("wasi:config/store@0.2.0-draft2"));
        assert!(!is_local("wasmcloud:messaging/consumer@0.2.0"));
    }
}
