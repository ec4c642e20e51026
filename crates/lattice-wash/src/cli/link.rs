//! `wash link put|del|query`: links from a component's imports to their targets.

use clap::{Args, Subcommand};
use lattice_control_interface::{ComponentId, ConfigName, Link, LinkName};
use lattice_wash::lattice::validate_id;
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on};

#[derive(Debug, Subcommand)]
pub(crate) enum LinkCommand {
    /// Link a source's imports of a WIT package to a target.
    Put(LinkPutArgs),
    /// Delete a link.
    #[command(alias = "delete")]
    Del(LinkDelArgs),
    /// List every link in the lattice.
    #[command(alias = "get")]
    Query {
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LinkPutArgs {
    /// The component or provider that makes the calls.
    source_id: String,
    /// The component or provider that serves them.
    target: String,
    /// WIT namespace of the linked interfaces, e.g. `wasi`.
    wit_namespace: String,
    /// WIT package of the linked interfaces, e.g. `keyvalue`.
    wit_package: String,
    /// A linked interface, e.g. `store` (repeatable, at least one).
    #[arg(long = "interface", required = true, value_name = "INTERFACE")]
    interfaces: Vec<String>,
    /// A named configuration for the source (repeatable).
    #[arg(long = "source-config", value_name = "NAME")]
    source_config: Vec<String>,
    /// A named configuration for the target (repeatable).
    #[arg(long = "target-config", value_name = "NAME")]
    target_config: Vec<String>,
    /// The link's name, to tell apart several links to the same package.
    #[arg(short = 'l', long = "link-name", default_value = "default")]
    link_name: String,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

#[derive(Debug, Args)]
pub(crate) struct LinkDelArgs {
    /// The link's source.
    source_id: String,
    /// The link's WIT namespace.
    wit_namespace: String,
    /// The link's WIT package.
    wit_package: String,
    /// The link's name.
    #[arg(short = 'l', long = "link-name", default_value = "default")]
    link_name: String,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(cmd: LinkCommand) -> anyhow::Result<Output> {
    block_on(async move {
        match cmd {
            LinkCommand::Put(args) => {
                validate_id("source", &args.source_id)?;
                validate_id("target", &args.target)?;
                let link = Link {
                    source_id: ComponentId::new(args.source_id),
                    target: ComponentId::new(args.target),
                    name: LinkName::new(args.link_name),
                    wit_namespace: args.wit_namespace,
                    wit_package: args.wit_package,
                    interfaces: args.interfaces,
                    source_config: args.source_config.into_iter().map(ConfigName::new).collect(),
                    target_config: args.target_config.into_iter().map(ConfigName::new).collect(),
                };
                let lattice = args.conn.connect().await?;
                let message = lattice
                    .client()
                    .put_link(&link)
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                Ok(Output::new(
                    format!(
                        "linked `{}` to `{}` for {}:{}/{{{}}} (link name `{}`)",
                        link.source_id,
                        link.target,
                        link.wit_namespace,
                        link.wit_package,
                        link.interfaces.join(","),
                        link.name
                    ),
                    json!({ "success": true, "link": link, "message": message }),
                ))
            }
            LinkCommand::Del(args) => {
                validate_id("source", &args.source_id)?;
                let source = ComponentId::new(args.source_id);
                let name = LinkName::new(args.link_name);
                let lattice = args.conn.connect().await?;
                let message = lattice
                    .client()
                    .delete_link(&source, &name, &args.wit_namespace, &args.wit_package)
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                Ok(Output::new(
                    format!(
                        "deleted link `{name}` from `{source}` for {}:{}",
                        args.wit_namespace, args.wit_package
                    ),
                    json!({
                        "success": true,
                        "source_id": source,
                        "name": name,
                        "wit_namespace": args.wit_namespace,
                        "wit_package": args.wit_package,
                        "message": message,
                    }),
                ))
            }
            LinkCommand::Query { conn } => super::get::links(&conn).await,
        }
    })
}
