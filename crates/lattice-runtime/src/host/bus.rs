//! `wasmcloud:bus/lattice@1.0.0` and `@2.0.1`: a component chooses the link name its later
//! calls to some interfaces use, e.g. one key-value link named `cache` and another named
//! `secrets`. The choice lasts for the rest of the invocation.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::bindings::wasmcloud::bus1_0_0 as bus1;
use super::bindings::wasmcloud::bus2_0_1 as bus2;
use crate::imports::Served;
use crate::links::LinkCtx;

/// What this built-in serves: both versions components import.
pub(crate) const SERVED_1: Served = Served {
    package: "wasmcloud:bus",
    interfaces: &["lattice"],
    version: "1",
};
pub(crate) const SERVED_2: Served = Served {
    package: "wasmcloud:bus",
    interfaces: &["lattice"],
    version: "2",
};

/// An interface a component names to `set-link-name`: the host side of the
/// `call-target-interface` resource of both versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInterface {
    namespace: String,
    package: String,
    interface: String,
}

impl TargetInterface {
    /// `namespace:package/interface`, the form links are looked up by.
    fn name(&self) -> String {
        format!("{}:{}/{}", self.namespace, self.package, self.interface)
    }
}

/// What `wasmcloud:bus` needs from the store data.
pub(crate) struct WasmcloudBusCtxView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) links: &'a LinkCtx,
}

/// Projects [`WasmcloudBusCtxView`] out of the store data `T`.
pub(crate) trait WasmcloudBusView: Send {
    fn bus(&mut self) -> WasmcloudBusCtxView<'_>;
}

struct WasmcloudBus;

impl HasData for WasmcloudBus {
    type Data<'a> = WasmcloudBusCtxView<'a>;
}

impl WasmcloudBusCtxView<'_> {
    fn new_target(
        &mut self,
        namespace: String,
        package: String,
        interface: String,
    ) -> wasmtime::Result<Resource<TargetInterface>> {
        Ok(self.table.push(TargetInterface {
            namespace,
            package,
            interface,
        })?)
    }

    /// Takes the guest's interface handles (it passed ownership) and returns their names.
    fn take_names(&mut self, interfaces: Vec<Resource<TargetInterface>>) -> wasmtime::Result<Vec<String>> {
        interfaces
            .into_iter()
            .map(|handle| Ok(self.table.delete(handle)?.name()))
            .collect()
    }
}

impl bus1::lattice::HostCallTargetInterface for WasmcloudBusCtxView<'_> {
    fn new(
        &mut self,
        namespace: String,
        package: String,
        interface: String,
    ) -> wasmtime::Result<Resource<TargetInterface>> {
        self.new_target(namespace, package, interface)
    }

    fn drop(&mut self, handle: Resource<TargetInterface>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl bus1::lattice::Host for WasmcloudBusCtxView<'_> {
    fn set_link_name(&mut self, name: String, interfaces: Vec<Resource<TargetInterface>>) -> wasmtime::Result<()> {
        let names = self.take_names(interfaces)?;
        self.links.names.set(&name, names);
        Ok(())
    }
}

impl bus2::lattice::HostCallTargetInterface for WasmcloudBusCtxView<'_> {
    fn new(
        &mut self,
        namespace: String,
        package: String,
        interface: String,
    ) -> wasmtime::Result<Resource<TargetInterface>> {
        self.new_target(namespace, package, interface)
    }

    fn drop(&mut self, handle: Resource<TargetInterface>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl bus2::lattice::Host for WasmcloudBusCtxView<'_> {
    fn set_link_name(
        &mut self,
        name: String,
        interfaces: Vec<Resource<TargetInterface>>,
    ) -> wasmtime::Result<Result<(), String>> {
        let names = self.take_names(interfaces)?;
        let source = &self.links.source;
        let unlinked: Vec<&str> = names
            .iter()
            .filter(|interface| {
                self.links
                    .links
                    .as_ref()
                    .and_then(|links| links.target(source, &name, interface))
                    .is_none()
            })
            .map(String::as_str)
            .collect();
        if !unlinked.is_empty() {
            return Ok(Err(format!(
                "no link named `{name}` from `{source}` provides {}: put the link first",
                unlinked.join(", ")
            )));
        }
        self.links.names.set(&name, names);
        Ok(Ok(()))
    }
}

/// Adds `wasmcloud:bus/lattice@1.0.0` and `@2.0.1` to `linker`.
pub(crate) fn add_to_linker<T: WasmcloudBusView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    bus1::lattice::add_to_linker::<T, WasmcloudBus>(linker, T::bus)?;
    bus2::lattice::add_to_linker::<T, WasmcloudBus>(linker, T::bus)?;
    Ok(())
}
