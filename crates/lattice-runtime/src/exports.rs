//! Calling what a component exports over wRPC: [`Component::exports`] lists the functions a
//! server can offer (with the parameter positions that stream), and [`Component::invoke`]
//! runs one call whose parameters arrive and whose results leave as wRPC byte streams. The
//! host's wRPC server, and through it `wash call` and providers, reach every export this way;
//! `wasi:http/incoming-handler` has its own bridge ([`Component::handle_http`]) because its
//! parameters are resources.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use wasmtime::Engine;
use wasmtime::component::types::{self, ComponentItem};
use wasmtime::component::{ComponentExportIndex, ResourceType, Type};
use wrpc_runtime_wasmtime::CallError;

use crate::component::{Component, classify};
use crate::error::{Error, ErrorKind, Result};

/// The interface whose export the HTTP bridge serves rather than [`Component::invoke`].
const HTTP_HANDLER: &str = "wasi:http/incoming-handler";

/// One exported function a wRPC server can offer.
#[derive(Debug, Clone)]
pub struct Export {
    instance: Arc<str>,
    function: Arc<str>,
    /// `<instance>/<function>`, as observers name it.
    operation: Arc<str>,
    index: ComponentExportIndex,
    params: Arc<[Type]>,
    results: Arc<[Type]>,
    paths: Arc<[Box<[Option<usize>]>]>,
}

impl Export {
    /// The exported interface, e.g. `test:pingpong/pong@0.1.0`; empty for a function the
    /// component exports at its root.
    #[must_use]
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The function's name within the interface.
    #[must_use]
    pub fn function(&self) -> &str {
        &self.function
    }

    /// `<instance>/<function>`: the operation an [`crate::InvocationObserver`] is told of.
    #[must_use]
    pub fn operation(&self) -> &Arc<str> {
        &self.operation
    }

    /// Positions of parameters that arrive asynchronously (streams and futures), as the
    /// transport must subscribe to them.
    #[must_use]
    pub fn async_paths(&self) -> &Arc<[Box<[Option<usize>]>]> {
        &self.paths
    }
}

/// What a component exports, worked out once at load.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    pub(crate) functions: Vec<Export>,
    /// `wasi:io` stream resources of the component, which cross wRPC as byte streams.
    io_streams: Arc<[ResourceType]>,
    by_name: HashMap<(Arc<str>, Arc<str>), usize>,
}

impl Exports {
    /// Lists the exported functions of `component` that can be called over wRPC: those whose
    /// parameters and results are plain values, byte streams or futures. Functions that take
    /// or return other resources, and the HTTP handler, are left out.
    pub(crate) fn of(engine: &Engine, component: &wasmtime::component::Component) -> Self {
        let ty = component.component_type();
        let io_streams: Arc<[ResourceType]> =
            wrpc_runtime_wasmtime::paths::wasi_io_stream_resources(engine, &ty).into();
        let mut functions = Vec::new();
        for (name, item) in ty.exports(engine) {
            match item {
                ComponentItem::ComponentFunc(func) => {
                    if let Some(index) = component.get_export_index(None, name) {
                        functions.extend(export(&io_streams, "", name, index, &func));
                    }
                }
                ComponentItem::ComponentInstance(instance) => {
                    if crate::links::unversioned(name) == HTTP_HANDLER {
                        continue;
                    }
                    let Some(instance_index) = component.get_export_index(None, name) else {
                        continue;
                    };
                    for (function, item) in instance.exports(engine) {
                        let ComponentItem::ComponentFunc(func) = item else {
                            continue;
                        };
                        if let Some(index) = component.get_export_index(Some(&instance_index), function) {
                            functions.extend(export(&io_streams, name, function, index, &func));
                        }
                    }
                }
                _ => {}
            }
        }
        let by_name = functions
            .iter()
            .enumerate()
            .map(|(i, e)| ((Arc::clone(&e.instance), Arc::clone(&e.function)), i))
            .collect();
        Self {
            functions,
            io_streams,
            by_name,
        }
    }

    pub(crate) fn get(&self, instance: &str, function: &str) -> Option<&Export> {
        self.by_name
            .get(&(Arc::from(instance), Arc::from(function)))
            .map(|&i| &self.functions[i])
    }
}

/// The export, if wRPC can carry its signature.
fn export(
    io_streams: &[ResourceType],
    instance: &str,
    function: &str,
    index: ComponentExportIndex,
    func: &types::ComponentFunc,
) -> Option<Export> {
    let params: Arc<[Type]> = func.params().map(|(_, ty)| ty).collect();
    let results: Arc<[Type]> = func.results().collect();
    if let Some(ty) = params
        .iter()
        .chain(results.iter())
        .find(|ty| !carriable(ty, io_streams))
    {
        tracing::debug!(
            instance,
            function,
            r#type = ?ty,
            "export not served over wRPC: its signature holds a resource"
        );
        return None;
    }
    Some(Export {
        operation: format!("{instance}/{function}").into(),
        instance: instance.into(),
        function: function.into(),
        index,
        paths: params_async_paths(&params, io_streams).into(),
        params,
        results,
    })
}

/// Whether wRPC can carry values of `ty`: anything but resources other than `wasi:io`
/// streams (a resource handle means nothing outside the guest's store).
fn carriable(ty: &Type, io_streams: &[ResourceType]) -> bool {
    match ty {
        Type::Own(resource) | Type::Borrow(resource) => io_streams.contains(resource),
        Type::List(list) => carriable(&list.ty(), io_streams),
        Type::Option(option) => carriable(&option.ty(), io_streams),
        Type::Result(result) => {
            result.ok().is_none_or(|ty| carriable(&ty, io_streams))
                && result.err().is_none_or(|ty| carriable(&ty, io_streams))
        }
        Type::Record(record) => record.fields().all(|field| carriable(&field.ty, io_streams)),
        Type::Tuple(tuple) => tuple.types().all(|ty| carriable(&ty, io_streams)),
        Type::Variant(variant) => variant
            .cases()
            .all(|case| case.ty.is_none_or(|ty| carriable(&ty, io_streams))),
        Type::Future(future) => future.ty().is_none_or(|ty| carriable(&ty, io_streams)),
        Type::Stream(stream) => stream.ty().is_none_or(|ty| carriable(&ty, io_streams)),
        Type::Map(_) | Type::ErrorContext => false,
        _ => true,
    }
}

/// A path into a value: `Some(i)` selects field, element or parameter `i`, `None` every
/// element of a list or stream.
type Path = VecDeque<Option<usize>>;

/// The wRPC paths of the asynchronous parts of a parameter list: parameter `i` is element
/// `i` of a tuple, so its paths start with `Some(i)`. A value that is itself a stream or a
/// future (a `wasi:io` stream counts as a byte stream) is reached at its own path; the
/// payloads of options, results and variants are reached at their container's path.
fn params_async_paths(params: &[Type], io_streams: &[ResourceType]) -> Vec<Box<[Option<usize>]>> {
    let mut out = BTreeSet::new();
    collect_indexed(params.iter().cloned().enumerate(), io_streams, &mut out);
    out.into_iter().map(|path| path.into_iter().collect()).collect()
}

/// Paths of members `(i, ty)` of a tuple-like value, each prefixed with `Some(i)`.
fn collect_indexed(
    members: impl Iterator<Item = (usize, Type)>,
    io_streams: &[ResourceType],
    out: &mut BTreeSet<Path>,
) {
    for (i, ty) in members {
        let (nested, is_async) = async_paths(&ty, io_streams);
        out.extend(nested.into_iter().map(|mut path| {
            path.push_front(Some(i));
            path
        }));
        if is_async {
            out.insert(Path::from([Some(i)]));
        }
    }
}

/// The paths below a value of `ty`, and whether the value itself is asynchronous.
fn async_paths(ty: &Type, io_streams: &[ResourceType]) -> (BTreeSet<Path>, bool) {
    let mut paths = BTreeSet::new();
    let is_async = match ty {
        Type::List(list) => {
            every_element(&list.ty(), io_streams, &mut paths);
            false
        }
        Type::Stream(stream) => {
            if let Some(element) = stream.ty() {
                every_element(&element, io_streams, &mut paths);
            }
            true
        }
        Type::Future(future) => {
            if let Some(value) = future.ty() {
                paths = async_paths(&value, io_streams).0;
            }
            true
        }
        Type::Option(option) => return async_paths(&option.ty(), io_streams),
        Type::Result(result) => {
            let mut is_async = false;
            for ty in [result.ok(), result.err()].into_iter().flatten() {
                let (nested, nested_async) = async_paths(&ty, io_streams);
                paths.extend(nested);
                is_async |= nested_async;
            }
            is_async
        }
        Type::Variant(variant) => {
            let mut is_async = false;
            for ty in variant.cases().filter_map(|case| case.ty) {
                let (nested, nested_async) = async_paths(&ty, io_streams);
                paths.extend(nested);
                is_async |= nested_async;
            }
            is_async
        }
        Type::Tuple(tuple) => {
            collect_indexed(tuple.types().enumerate(), io_streams, &mut paths);
            false
        }
        Type::Record(record) => {
            collect_indexed(record.fields().map(|f| f.ty).enumerate(), io_streams, &mut paths);
            false
        }
        Type::Own(resource) | Type::Borrow(resource) => io_streams.contains(resource),
        _ => false,
    };
    (paths, is_async)
}

/// Paths below every element (`None`) of a list or stream of `element`.
fn every_element(element: &Type, io_streams: &[ResourceType], out: &mut BTreeSet<Path>) {
    let (nested, is_async) = async_paths(element, io_streams);
    out.extend(nested.into_iter().map(|mut path| {
        path.push_front(None);
        path
    }));
    if is_async {
        out.insert(Path::from([None]));
    }
}

impl Component {
    /// The functions this component exports that can be called over wRPC.
    #[must_use]
    pub fn exports(&self) -> &[Export] {
        &self.export_table().functions
    }

    /// Runs one call of the exported `instance`'s `function`: reads its parameters from
    /// `params`, calls it in a fresh instance under the component's limits and instance
    /// permits, and writes its results to `results`, in wRPC's encoding.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::MissingExport`] when the component does not export the function (or
    ///   its signature cannot cross wRPC),
    /// - [`ErrorKind::InvalidRequest`] when the parameters do not decode,
    /// - [`ErrorKind::Stopped`] when the component was stopped,
    /// - [`ErrorKind::Instantiation`], [`ErrorKind::Trap`], [`ErrorKind::DeadlineExceeded`],
    ///   [`ErrorKind::MemoryLimitExceeded`], [`ErrorKind::TableLimitExceeded`],
    ///   [`ErrorKind::ResourceLimitExceeded`] or [`ErrorKind::MissingLink`] when the guest
    ///   fails,
    /// - [`ErrorKind::Transport`] when the results cannot be sent.
    pub async fn invoke<I, O>(&self, instance: &str, function: &str, params: I, results: O) -> Result<()>
    where
        I: AsyncRead + wrpc_transport::Index<I> + Send + Sync + Unpin + 'static,
        O: AsyncWrite + wrpc_transport::Index<O> + Send + Sync + Unpin + 'static,
    {
        let exports = self.export_table();
        let export = exports.get(instance, function).cloned().ok_or_else(|| {
            Error::new(ErrorKind::MissingExport {
                interface: if instance.is_empty() {
                    function.to_owned()
                } else {
                    format!("{instance}#{function}")
                },
            })
        })?;
        let io_streams = Arc::clone(&exports.io_streams);
        let mut invocation = self.begin(instance, function, export.operation()).await?;
        let budget = invocation.budget;
        let store = &mut invocation.store;
        let instance_pre = self.instance_pre().clone();
        let run = async {
            let instance = instance_pre
                .instantiate_async(&mut *store)
                .await
                .map_err(|e| (CallError::Call(e), ErrorKind::Instantiation))?;
            let func = instance.get_func(&mut *store, export.index).ok_or_else(|| {
                (
                    CallError::Call(wasmtime::format_err!("export vanished")),
                    ErrorKind::Instantiation,
                )
            })?;
            wrpc_runtime_wasmtime::call(
                &mut *store,
                params,
                results,
                &[],
                &HashMap::new(),
                &io_streams,
                export.params.iter(),
                &export.results,
                func,
            )
            .await
            .map_err(|e| (e, ErrorKind::Trap))
        };
        // The epoch callback stops guests running wasm; the timeout also stops one parked
        // in a host call (a linked call, a stream) that never completes.
        let ended = match tokio::time::timeout(budget, run).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((err, otherwise))) => Err(call_error(err, store.data(), otherwise)),
            Err(_elapsed) => Err(Error::new(ErrorKind::DeadlineExceeded)),
        };
        if ended.is_err() {
            invocation.fail();
        }
        ended
    }
}

/// The runtime's error for a failed wRPC call.
fn call_error(err: CallError, ctx: &crate::store::Ctx, otherwise: ErrorKind) -> Error {
    match err {
        CallError::Decode(e) => Error::wasmtime(ErrorKind::InvalidRequest, e),
        CallError::Encode(e) | CallError::Write(e) | CallError::Flush(e) | CallError::Deferred(e) => {
            Error::wasmtime(ErrorKind::Transport, e)
        }
        CallError::Call(e) | CallError::Table(e) | CallError::TypeMismatch(e) | CallError::PostReturn(e) => {
            classify(e, ctx, otherwise)
        }
        CallError::Guest(e) => Error::with_source(ErrorKind::Trap, std::io::Error::other(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component_type(wat: &str) -> (Engine, wasmtime::component::Component) {
        let engine = Engine::default();
        let component = wasmtime::component::Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        (engine, component)
    }

    #[test]
    fn plain_functions_are_listed_with_no_async_paths() {
        let (engine, component) = component_type(
            r#"(component
                (core module $m (func (export "f") (param i32) (result i32) local.get 0))
                (core instance $i (instantiate $m))
                (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
                (instance $api (export "double" (func $f)))
                (export "test:api/math@0.1.0" (instance $api))
            )"#,
        );
        let exports = Exports::of(&engine, &component);
        assert_eq!(exports.functions.len(), 1);
        let export = exports.get("test:api/math@0.1.0", "double").unwrap();
        assert_eq!(export.instance(), "test:api/math@0.1.0");
        assert!(export.async_paths().is_empty());
        assert!(exports.get("test:api/math@0.1.0", "triple").is_none());
    }
}
