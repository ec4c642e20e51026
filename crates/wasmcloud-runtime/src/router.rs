//! Imports the runtime cannot serve itself (capabilities such as
//! `wasi:blobstore/blobstore`, calls to other components) are asked of an
//! [`ImportRouter`] that the embedder supplies; the host implements it with
//! links and wRPC over NATS, which this crate knows nothing about.
//!
//! Every such import is defined in the linker as a stub that consults the
//! router on each call, so links added or removed after a component starts
//! apply without re-instantiating it, and an unlinked import fails the call
//! with an error naming the missing link instead of hanging.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Linker, ResourceType, Val};
use wasmtime::{Engine, StoreContextMut};

use crate::id::ComponentId;
use crate::store::Ctx;

/// Where a call to an imported interface goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// No link provides the interface: the call fails naming the interface.
    Unlinked,
    /// A link provides the interface; [`ImportRouter::invoke`] carries the call.
    Linked {
        /// The link's target, as the router names it (e.g. a provider or
        /// component id).
        target: String,
    },
}

/// One call of a linked import, handed to [`ImportRouter::invoke`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ImportCall<'a> {
    /// The calling component.
    pub component: &'a ComponentId,
    /// The imported interface, e.g. `wasi:blobstore/blobstore@0.2.0-draft`.
    pub interface: &'a str,
    /// The function within the interface, e.g. `open`.
    pub function: &'a str,
    /// The link target chosen by [`ImportRouter::route`].
    pub target: &'a str,
    /// The arguments, as dynamic component values.
    pub params: &'a [Val],
    /// Where the results go; exactly as many as the function returns.
    pub results: &'a mut [Val],
}

/// Why a linked call failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    message: String,
}

impl InvokeError {
    /// An error with a message for the guest's host log.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The future [`ImportRouter::invoke`] returns.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), InvokeError>> + Send + 'a>>;

/// Decides where imports that no host interface satisfies go, and carries
/// calls over links.
pub trait ImportRouter: Send + Sync + fmt::Debug + 'static {
    /// Where a call from `component` to `interface` goes. Asked on every
    /// call, so it reflects the links in force at that moment.
    fn route(&self, component: &ComponentId, interface: &str) -> Route;

    /// Carries a call over a link.
    ///
    /// # Errors
    ///
    /// When the call cannot be delivered or the target fails it; the guest's
    /// invocation then fails with that error.
    fn invoke<'a>(&'a self, call: ImportCall<'a>) -> InvokeFuture<'a> {
        let message = format!(
            "`{}#{}` is linked to `{}` but this runtime cannot forward calls: use a host that supports links",
            call.interface, call.function, call.target
        );
        Box::pin(async move { Err(InvokeError::new(message)) })
    }
}

/// The router of a runtime without links: every routed import is unlinked.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLinks;

impl ImportRouter for NoLinks {
    fn route(&self, _component: &ComponentId, _interface: &str) -> Route {
        Route::Unlinked
    }
}

/// The error a stub returns for an unlinked import; classified into
/// [`crate::ErrorKind::MissingLink`].
#[derive(Debug, thiserror::Error)]
#[error("component `{component}` called `{interface}#{function}` but no link provides `{interface}`")]
pub(crate) struct MissingLink {
    pub(crate) component: ComponentId,
    pub(crate) interface: String,
    pub(crate) function: String,
}

/// Host type behind resources of routed interfaces; never constructed by the
/// runtime, only named so the component's resource imports resolve.
struct RoutedResource;

/// Defines every import of `component` that the runtime does not serve
/// itself as a stub consulting `router`. Returns the names of the routed
/// interfaces.
pub(crate) fn define_routed_imports(
    linker: &mut Linker<Ctx>,
    engine: &Engine,
    component: &wasmtime::component::Component,
    router: &Arc<dyn ImportRouter>,
) -> wasmtime::Result<Vec<String>> {
    let mut routed = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        if crate::host::is_local(name) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item else {
            wasmtime::bail!(
                "component imports `{name}`, which is not an interface: only interface imports can be linked"
            );
        };
        let mut linker_instance = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item {
                ComponentItem::ComponentFunc(_) => {
                    let interface: Arc<str> = name.into();
                    let function: Arc<str> = export.into();
                    let router = Arc::clone(router);
                    linker_instance.func_new_async(export, move |store, _ty, params, results| {
                        let interface = Arc::clone(&interface);
                        let function = Arc::clone(&function);
                        let router = Arc::clone(&router);
                        Box::new(
                            async move { call_routed(store, &*router, &interface, &function, params, results).await },
                        )
                    })?;
                }
                ComponentItem::Resource(_) => {
                    linker_instance.resource(export, ResourceType::host::<RoutedResource>(), |_, _| Ok(()))?;
                }
                // Type definitions need nothing from the linker.
                _ => {}
            }
        }
        routed.push(name.to_string());
    }
    Ok(routed)
}

async fn call_routed(
    store: StoreContextMut<'_, Ctx>,
    router: &dyn ImportRouter,
    interface: &str,
    function: &str,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let component = store.data().component_id.clone();
    match router.route(&component, interface) {
        Route::Linked { target } => {
            let call = ImportCall {
                component: &component,
                interface,
                function,
                target: &target,
                params,
                results,
            };
            router.invoke(call).await.map_err(wasmtime::Error::new)
        }
        Route::Unlinked => Err(wasmtime::Error::new(MissingLink {
            component,
            interface: interface.to_string(),
            function: function.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_links_routes_nothing() {
        let route = NoLinks.route(&ComponentId::from("c"), "wasi:keyvalue/store@0.2.0-draft");
        assert_eq!(route, Route::Unlinked);
    }

    #[test]
    fn missing_link_names_component_and_interface() {
        let err = MissingLink {
            component: ComponentId::from("c"),
            interface: "wasi:keyvalue/store@0.2.0-draft".into(),
            function: "open".into(),
        };
        assert_eq!(
            err.to_string(),
            "component `c` called `wasi:keyvalue/store@0.2.0-draft#open` but no link provides `wasi:keyvalue/store@0.2.0-draft`"
        );
    }
}
