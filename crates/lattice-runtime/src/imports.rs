//! Deciding, for each interface a component imports, whether a built-in serves it or it goes
//! over a link. Built-ins say what they serve ([`Served`], next to their `add_to_linker`);
//! everything else a component imports is defined in its linker as a wRPC forwarder
//! (`wrpc-runtime-wasmtime`'s polyfill) that resolves the link on every call through
//! [`crate::Links`].

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Linker, ResourceType};

use crate::store::Ctx;

/// Resources the host defines for forwarded interfaces, by instance and name: none, since
/// resources never cross a link.
type HostResources = HashMap<Box<str>, HashMap<Box<str>, (ResourceType, ResourceType)>>;

/// Interfaces one built-in serves: every interface of `package` (or only `interfaces`) at a
/// version `version` accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Served {
    /// `namespace:package`, e.g. `wasi:io`.
    pub(crate) package: &'static str,
    /// The interfaces served; empty for all of the package's.
    pub(crate) interfaces: &'static [&'static str],
    /// `0.2` accepts every `0.2.x` release, `1` every `1.x.y`; anything else (e.g.
    /// `0.2.0-draft`) only itself. The rule is wasmtime's linker's: semver-compatible
    /// releases resolve to the one definition.
    pub(crate) version: &'static str,
}

impl Served {
    /// Whether this built-in serves the import named `name` (`ns:pkg/iface@version`).
    fn serves(&self, name: &str) -> bool {
        let Some((path, version)) = name.split_once('@') else {
            return false;
        };
        let Some((package, interface)) = path.split_once('/') else {
            return false;
        };
        package == self.package
            && (self.interfaces.is_empty() || self.interfaces.contains(&interface))
            && version_accepts(self.version, version)
    }
}

fn version_accepts(rule: &str, version: &str) -> bool {
    let is_release_prefix = rule.split('.').all(|part| part.parse::<u64>().is_ok());
    if is_release_prefix && !version.contains(['-', '+']) {
        version == rule || version.strip_prefix(rule).is_some_and(|rest| rest.starts_with('.'))
    } else {
        version == rule
    }
}

/// Whether one of `builtins` serves the import `name`.
pub(crate) fn is_served(builtins: &[Served], name: &str) -> bool {
    builtins.iter().any(|served| served.serves(name))
}

/// Defines every import of `component` that no built-in serves as a forwarder over links.
/// Returns the names of those imports.
///
/// # Errors
///
/// When an import cannot be forwarded: a bare function or a resource of an interface with
/// no built-in (resources stay in the guest's process, so they cannot cross a link).
pub(crate) fn define_linked_imports(
    linker: &mut Linker<Ctx>,
    engine: &Engine,
    builtins: &[Served],
    component: &wasmtime::component::Component,
) -> wasmtime::Result<Vec<String>> {
    let no_host_resources: Arc<HostResources> = Arc::default();
    let no_guest_resources: Arc<[ResourceType]> = Arc::from([]);
    let mut linked = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        if is_served(builtins, name) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item else {
            wasmtime::bail!(
                "component imports `{name}`, which is not an interface: only interfaces can be linked, put the function in an interface"
            );
        };
        let mut instance_linker = linker.instance(name)?;
        wrpc_runtime_wasmtime::link_instance(
            engine,
            &mut instance_linker,
            Arc::clone(&no_guest_resources),
            Arc::clone(&no_host_resources),
            instance,
            name,
        )
        .map_err(|e| {
            e.context(format!(
                "no built-in serves `{name}` and it cannot be forwarded over a link (an interface with resources needs a built-in)"
            ))
        })?;
        linked.push(name.to_owned());
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASI_IO: Served = Served {
        package: "wasi:io",
        interfaces: &[],
        version: "0.2",
    };
    const KEYVALUE_STORE: Served = Served {
        package: "wasi:keyvalue",
        interfaces: &["store"],
        version: "0.2.0-draft",
    };

    #[test]
    fn release_prefixes_accept_compatible_versions() {
        assert!(WASI_IO.serves("wasi:io/streams@0.2.0"));
        assert!(WASI_IO.serves("wasi:io/poll@0.2.6"));
        assert!(!WASI_IO.serves("wasi:io/poll@0.3.0"));
        assert!(!WASI_IO.serves("wasi:io/poll@0.20.0"));
        assert!(!WASI_IO.serves("wasi:io/poll@0.2.0-rc-2023-11-10"));
        assert!(!WASI_IO.serves("wasi:io/poll"));
    }

    #[test]
    fn drafts_match_exactly_and_interfaces_are_listed() {
        assert!(KEYVALUE_STORE.serves("wasi:keyvalue/store@0.2.0-draft"));
        assert!(!KEYVALUE_STORE.serves("wasi:keyvalue/store@0.2.0-draft2"));
        assert!(!KEYVALUE_STORE.serves("wasi:keyvalue/watch@0.2.0-draft"));
        assert!(!KEYVALUE_STORE.serves("wasi:blobstore/store@0.2.0-draft"));
    }

    #[test]
    fn majors_from_one_on() {
        let bus = Served {
            package: "wasmcloud:bus",
            interfaces: &["lattice"],
            version: "2",
        };
        assert!(bus.serves("wasmcloud:bus/lattice@2.0.1"));
        assert!(!bus.serves("wasmcloud:bus/lattice@1.0.0"));
    }
}
