//! `wash call`: invoke a running component's export over wRPC and print what it returns.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use lattice_control_interface::ComponentId;
use lattice_wash::lattice::{Callee, HttpCall, validate_id};
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on};

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The ID the component runs under.
    component_id: String,
    /// The function, as `namespace:package/interface@version.function`, e.g.
    /// `wrpc:http/incoming-handler.handle` or `test:unlinked/greeter@0.1.0.greet`.
    function: String,
    /// The function's parameters, in order, each a string (only functions taking strings and
    /// returning one string can be called; see --help).
    args: Vec<String>,
    /// HTTP method of the request.
    #[arg(long, default_value = "GET")]
    http_method: String,
    /// Path (and query) of the request.
    #[arg(long, default_value = "/")]
    http_path: String,
    /// A request header, as NAME:VALUE (repeatable).
    #[arg(long = "http-header", value_name = "NAME:VALUE")]
    http_headers: Vec<String>,
    /// The request body.
    #[arg(long, conflicts_with = "http_body_file")]
    http_body: Option<String>,
    /// A file whose contents are the request body.
    #[arg(long, value_name = "FILE")]
    http_body_file: Option<PathBuf>,
    /// How long to wait for the component's answer, in milliseconds.
    #[arg(long, env = "WASMCLOUD_RPC_TIMEOUT_MS", default_value_t = 10_000)]
    rpc_timeout_ms: u64,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

impl CallArgs {
    fn uses_http_flags(&self) -> bool {
        self.http_method != "GET"
            || self.http_path != "/"
            || !self.http_headers.is_empty()
            || self.http_body.is_some()
            || self.http_body_file.is_some()
    }
}

pub(crate) fn run(args: CallArgs) -> anyhow::Result<Output> {
    block_on(call(args))
}

async fn call(args: CallArgs) -> anyhow::Result<Output> {
    validate_id("component", &args.component_id)?;
    let callee = Callee::parse(&args.function)?;
    let id = ComponentId::new(args.component_id.clone());
    let timeout = Duration::from_millis(args.rpc_timeout_ms);
    match callee {
        Callee::Http => {
            if !args.args.is_empty() {
                anyhow::bail!(
                    "an HTTP handler takes no ARGs: describe the request with --http-method, --http-path, \
                     --http-header and --http-body"
                );
            }
            let request = http_call(&args)?;
            let lattice = args.conn.connect().await?;
            let reply = lattice.call_http(&id, request, timeout).await?;
            let body = String::from_utf8_lossy(&reply.body).into_owned();
            let mut text = format!("{}\n", reply.status);
            for (name, value) in &reply.headers {
                text.push_str(&format!("{name}: {value}\n"));
            }
            text.push('\n');
            text.push_str(&body);
            let headers: Vec<_> = reply.headers.iter().map(|(name, value)| json!([name, value])).collect();
            Ok(Output::new(
                text,
                json!({ "success": true, "status": reply.status, "headers": headers, "body": body }),
            ))
        }
        Callee::Strings { instance, function } => {
            if args.uses_http_flags() {
                anyhow::bail!(
                    "--http-* flags apply to `wrpc:http/incoming-handler.handle` only: pass `{}`'s parameters as ARGs",
                    args.function
                );
            }
            let lattice = args.conn.connect().await?;
            let result = lattice
                .call_strings(&id, &instance, &function, &args.args, timeout)
                .await?;
            Ok(Output::new(
                result.clone(),
                json!({ "success": true, "result": result }),
            ))
        }
    }
}

fn http_call(args: &CallArgs) -> anyhow::Result<HttpCall> {
    let headers: Vec<(String, String)> = args
        .http_headers
        .iter()
        .map(|header| {
            header
                .split_once(':')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .with_context(|| format!("invalid header `{header}`: expected NAME:VALUE, e.g. `accept:text/plain`"))
        })
        .collect::<anyhow::Result<_>>()?;
    let body = match (&args.http_body, &args.http_body_file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        (None, None) => Vec::new(),
    };
    Ok(HttpCall::new(&args.http_method, &args.http_path, &headers, body)?)
}
