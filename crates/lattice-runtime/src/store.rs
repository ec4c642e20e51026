//! Per-invocation store data: everything one instance of one component can
//! touch (WASI context, resource table, HTTP context, config snapshot), the
//! memory limiter and the deadline. One fresh store per request keeps
//! requests isolated from each other.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, OutgoingRequestConfig};
use wasmtime_wasi_http::p2::{HttpResult, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use wrpc_runtime_wasmtime::{SharedResourceTable, WrpcCtx, WrpcCtxView, WrpcView};

use crate::host::bus::{WasmcloudBusCtxView, WasmcloudBusView};
use crate::host::config::{ConfigValues, WasiConfigCtxView, WasiConfigView};
use crate::host::keyvalue::{KeyValueBackend, WasiKeyValueCtxView, WasiKeyValueView};
use crate::host::logging::{WasiLoggingCtxView, WasiLoggingView};
use crate::id::ComponentId;
use crate::limits::StoreLimiter;
use crate::links::{CallContext, LinkCtx, LinkInvoker};
use crate::logs::{InvocationLog, LogBudget};
use crate::stdio::{LogStream, Stdio};

/// The data of every store the runtime creates.
pub(crate) struct Ctx {
    pub(crate) component_id: ComponentId,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    config: ConfigValues,
    keyvalue: Option<Arc<dyn KeyValueBackend>>,
    wrpc: WrpcState,
    logs: InvocationLog,
    pub(crate) limiter: StoreLimiter,
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
    pub(crate) keyvalue: Option<Arc<dyn KeyValueBackend>>,
    pub(crate) links: LinkCtx,
    pub(crate) max_memory: u64,
    pub(crate) max_table_elements: usize,
    pub(crate) max_resource_entries: usize,
    pub(crate) logs: Arc<LogBudget>,
    pub(crate) deadline: Instant,
}

/// Creates a store with the caps and deadline of `spec` applied.
pub(crate) fn new_store(engine: &Engine, spec: StoreSpec) -> Store<Ctx> {
    let logs = InvocationLog::new(spec.logs, spec.links.trace.clone());
    let wasi = WasiCtx::builder()
        .stdout(LogStream::new(logs.clone(), Stdio::Stdout))
        .stderr(LogStream::new(logs.clone(), Stdio::Stderr))
        // No network: wasmtime-wasi allows TCP and UDP sockets by default
        // (only their addresses are checked, and refused), so a guest could
        // still open a file descriptor per `create-*-socket` call. Off, they
        // fail with `access-denied` before any socket exists.
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let mut table = ResourceTable::new();
    table.set_max_capacity(spec.max_resource_entries);
    let ctx = Ctx {
        component_id: spec.component_id,
        table,
        wasi,
        http: WasiHttpCtx::new(),
        hooks: HttpHooks {
            links: spec.links.clone(),
        },
        config: spec.config,
        keyvalue: spec.keyvalue,
        wrpc: WrpcState {
            invoker: spec.links.invoker(),
            links: spec.links,
            shared: SharedResourceTable::default(),
        },
        logs,
        limiter: StoreLimiter::new(spec.max_memory, spec.max_table_elements),
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

impl Ctx {
    /// How the store's last forwarded call failed, if one did.
    pub(crate) fn link_failure(&self) -> Option<String> {
        self.wrpc.links.failure.get()
    }
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
            backend: self.keyvalue.as_ref(),
            table: &mut self.table,
            links: &self.wrpc.links,
        }
    }
}

impl WasmcloudBusView for Ctx {
    fn bus(&mut self) -> WasmcloudBusCtxView<'_> {
        WasmcloudBusCtxView {
            table: &mut self.table,
            links: &self.wrpc.links,
        }
    }
}

/// What the wRPC forwarders of linked imports need: the links, the client that carries the
/// calls, and the (unused: guest resources never cross a link) shared resource table.
struct WrpcState {
    links: LinkCtx,
    invoker: LinkInvoker,
    shared: SharedResourceTable,
}

impl WrpcCtx<LinkInvoker> for WrpcState {
    fn context(&self) -> CallContext {
        self.links.unrouted()
    }

    fn client(&self) -> &LinkInvoker {
        &self.invoker
    }

    fn shared_resources(&mut self) -> &mut SharedResourceTable {
        &mut self.shared
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.links.timeout)
    }
}

impl WrpcView for Ctx {
    type Invoke = LinkInvoker;

    fn wrpc(&mut self) -> WrpcCtxView<'_, LinkInvoker> {
        WrpcCtxView {
            ctx: &mut self.wrpc,
            table: &mut self.table,
        }
    }
}

impl WasiLoggingView for Ctx {
    fn logging(&mut self) -> WasiLoggingCtxView<'_> {
        WasiLoggingCtxView { budget: &self.logs }
    }
}

/// `wasi:http` hooks: an outgoing request is a capability that goes over the component's
/// `wasi:http/outgoing-handler` link (as `wrpc:http/outgoing-handler@0.1.0` to an http-client
/// provider); without one it fails with an error naming the missing link, never reaching the
/// network unchecked.
struct HttpHooks {
    links: LinkCtx,
}

/// Puts the invocation's W3C trace context on an outgoing request that carries none of its
/// own, so the server it reaches can join the trace.
fn carry_trace(headers: &mut http::HeaderMap, trace: &crate::TraceContext) {
    if headers.contains_key("traceparent") {
        return;
    }
    if let Ok(value) = http::HeaderValue::try_from(trace.traceparent()) {
        headers.insert("traceparent", value);
        if let Some(Ok(state)) = trace.tracestate().map(http::HeaderValue::from_str) {
            headers.insert("tracestate", state);
        }
    }
}

/// The link interface outgoing requests go over.
const OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler";

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        mut request: hyper::Request<HyperOutgoingBody>,
        config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        if let Some(trace) = &self.links.trace {
            carry_trace(request.headers_mut(), trace);
        }
        let Some(route) = self.links.route(OUTGOING_HANDLER) else {
            return Err(ErrorCode::InternalError(Some(format!(
                "no link named `{}` provides `{OUTGOING_HANDLER}`: link the component to an http-client provider to send HTTP requests",
                self.links.names.get(OUTGOING_HANDLER)
            )))
            .into());
        };
        let invoker = self.links.invoker();
        let cx = self.links.routed(route.clone());
        let task = wasmtime_wasi::runtime::spawn(async move {
            Ok(crate::http::send_over_link(&invoker, cx, &route, request, config).await)
        });
        Ok(HostFutureIncomingResponse::pending(task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_requests_carry_the_invocations_trace_unless_they_have_one() {
        let trace = crate::TraceContext::new(
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            0x00f0_67aa_0ba9_02b7,
            1,
            Some("vendor=1"),
        );
        let mut headers = http::HeaderMap::new();
        carry_trace(&mut headers, &trace);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(headers["tracestate"], "vendor=1");

        let mut own = http::HeaderMap::new();
        own.insert("traceparent", http::HeaderValue::from_static("00-guest-own-01"));
        carry_trace(&mut own, &trace);
        assert_eq!(own["traceparent"], "00-guest-own-01");
        assert!(!own.contains_key("tracestate"));
    }
}
