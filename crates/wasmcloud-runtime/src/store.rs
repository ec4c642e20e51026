//! Per-invocation store data: everything one instance of one component can
//! touch (WASI context, resource table, HTTP context, config snapshot), the
//! memory limiter and the deadline. One fresh store per request keeps
//! requests isolated from each other.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, OutgoingRequestConfig};
use wasmtime_wasi_http::p2::{HttpResult, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::host::config::{ConfigValues, WasiConfigCtxView, WasiConfigView};
use crate::host::keyvalue::{KeyValueBackend, WasiKeyValueCtxView, WasiKeyValueView};
use crate::host::logging::{WasiLoggingCtxView, WasiLoggingView};
use crate::id::ComponentId;
use crate::limits::MemoryLimiter;
use crate::stdio::{LogStream, Stdio};

/// The data of every store the runtime creates.
pub(crate) struct Ctx {
    pub(crate) component_id: ComponentId,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    config: ConfigValues,
    keyvalue: Arc<dyn KeyValueBackend>,
    pub(crate) limiter: MemoryLimiter,
    deadline: Instant,
    pub(crate) deadline_exceeded: bool,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("component_id", &self.component_id)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Everything needed to create a store for one invocation.
pub(crate) struct StoreSpec {
    pub(crate) component_id: ComponentId,
    pub(crate) config: ConfigValues,
    pub(crate) keyvalue: Arc<dyn KeyValueBackend>,
    pub(crate) max_memory: u64,
    pub(crate) deadline: Instant,
}

/// Creates a store with the memory cap and deadline of `spec` applied.
pub(crate) fn new_store(engine: &Engine, spec: StoreSpec) -> Store<Ctx> {
    let wasi = WasiCtx::builder()
        .stdout(LogStream::new(spec.component_id.clone(), Stdio::Stdout))
        .stderr(LogStream::new(spec.component_id.clone(), Stdio::Stderr))
        .build();
    let ctx = Ctx {
        component_id: spec.component_id,
        table: ResourceTable::new(),
        wasi,
        http: WasiHttpCtx::new(),
        hooks: HttpHooks,
        config: spec.config,
        keyvalue: spec.keyvalue,
        limiter: MemoryLimiter::new(spec.max_memory),
        deadline: spec.deadline,
        deadline_exceeded: false,
    };
    let mut store = Store::new(engine, ctx);
    store.limiter(|ctx| &mut ctx.limiter);
    // Check the deadline on every epoch tick: past it, stop the guest;
    // before it, yield to the executor so a guest spinning in a loop cannot
    // starve other tasks on the same worker thread.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut store| {
        let ctx = store.data_mut();
        if Instant::now() >= ctx.deadline {
            ctx.deadline_exceeded = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl WasiConfigView for Ctx {
    fn config(&mut self) -> WasiConfigCtxView<'_> {
        WasiConfigCtxView { values: &self.config }
    }
}

impl WasiKeyValueView for Ctx {
    fn keyvalue(&mut self) -> WasiKeyValueCtxView<'_> {
        WasiKeyValueCtxView {
            component: &self.component_id,
            backend: &self.keyvalue,
            table: &mut self.table,
        }
    }
}

impl WasiLoggingView for Ctx {
    fn logging(&mut self) -> WasiLoggingCtxView<'_> {
        WasiLoggingCtxView {
            component: &self.component_id,
        }
    }
}

/// `wasi:http` hooks: outgoing requests are a capability that goes over a
/// link (`wasi:http/outgoing-handler` to an http-client provider), which this
/// part of the runtime does not carry yet, so they fail with a clear error
/// rather than reaching the network unchecked.
struct HttpHooks;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        _request: hyper::Request<HyperOutgoingBody>,
        _config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        Err(ErrorCode::InternalError(Some(
            "outgoing HTTP is not linked for this component: link `wasi:http/outgoing-handler` to an http-client provider"
                .to_string(),
        ))
        .into())
    }
}
