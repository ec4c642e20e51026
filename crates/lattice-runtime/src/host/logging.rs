//! `wasi:logging/logging@0.1.0-draft`: guest log calls become host `tracing`
//! events tagged with the component id and the guest's context string,
//! through the component's log budget (rate limited, never blocking).

use wasmtime::component::{HasData, Linker};

use super::bindings::wasi::logging::logging::{self, Level};
use crate::imports::Served;
use crate::logs::{InvocationLog, Source};

/// What this built-in serves.
pub(crate) const SERVED: Served = Served {
    package: "wasi:logging",
    interfaces: &["logging"],
    version: "0.1.0-draft",
};

/// What `wasi:logging/logging` needs from the store data.
#[derive(Debug)]
pub struct WasiLoggingCtxView<'a> {
    /// Where the invocation's log lines go (its component's budget, its trace id).
    pub(crate) budget: &'a InvocationLog,
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
        self.budget.log(Source::Logging { level, context }, message);
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
