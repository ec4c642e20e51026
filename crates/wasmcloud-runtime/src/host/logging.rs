//! `wasi:logging/logging@0.1.0-draft`: guest log calls become host `tracing`
//! events tagged with the component id and the guest's context string.

use wasmtime::component::{HasData, Linker};

use super::bindings::wasi::logging::logging::{self, Level};
use crate::id::ComponentId;
use crate::imports::Served;

/// What this built-in serves.
pub(crate) const SERVED: Served = Served {
    package: "wasi:logging",
    interfaces: &["logging"],
    version: "0.1.0-draft",
};

/// What `wasi:logging/logging` needs from the store data.
#[derive(Debug)]
pub struct WasiLoggingCtxView<'a> {
    /// The component whose log lines these are.
    pub component: &'a ComponentId,
}

/// Projects [`WasiLoggingCtxView`] out of the store data `T`.
pub trait WasiLoggingView: Send {
    /// The view for this store.
    fn logging(&mut self) -> WasiLoggingCtxView<'_>;
}

struct WasiLogging;

impl HasData for WasiLogging {
    type Data<'a> = WasiLoggingCtxView<'a>;
}

impl logging::Host for WasiLoggingCtxView<'_> {
    fn log(&mut self, level: Level, context: String, message: String) {
        let component = self.component.as_str();
        // `tracing` levels are static per call site, hence one call per level.
        match level {
            Level::Trace => tracing::trace!(component_id = component, context, "{message}"),
            Level::Debug => tracing::debug!(component_id = component, context, "{message}"),
            Level::Info => tracing::info!(component_id = component, context, "{message}"),
            Level::Warn => tracing::warn!(component_id = component, context, "{message}"),
            Level::Error => tracing::error!(component_id = component, context, "{message}"),
            Level::Critical => {
                tracing::error!(component_id = component, context, critical = true, "{message}");
            }
        }
    }
}

/// Adds `wasi:logging/logging@0.1.0-draft` to `linker`.
///
/// # Errors
///
/// When the linker already defines the interface.
pub fn add_to_linker<T: WasiLoggingView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    logging::add_to_linker::<T, WasiLogging>(linker, T::logging)
}
