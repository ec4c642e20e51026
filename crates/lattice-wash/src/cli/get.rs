//! `wash get hosts|inventory|links|claims`: what the lattice runs, as tables
//! or (with `-o json`) as the control interface's own JSON.

use clap::Subcommand;
use lattice_control_interface::{ClaimsEntry, Host, HostId, HostInventory, Link};
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on};
use super::table::table;

#[derive(Debug, Subcommand)]
pub(crate) enum GetCommand {
    /// List the hosts that answer a ping.
    Hosts {
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
    /// Show what one host (or every host) runs.
    #[command(alias = "inventories")]
    Inventory {
        /// The host to ask [default: every host].
        host_id: Option<String>,
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
    /// List every link in the lattice.
    Links {
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
    /// List the claims of the signed components and providers the lattice knows.
    Claims {
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
}

pub(crate) fn run(cmd: GetCommand) -> anyhow::Result<Output> {
    block_on(async move {
        match cmd {
            GetCommand::Hosts { conn } => {
                let lattice = conn.connect().await?;
                let hosts = lattice.hosts().await?;
                let text = if hosts.is_empty() {
                    format!(
                        "no hosts answered on lattice `{}` at {}: start one with `wash up`",
                        lattice.name(),
                        lattice.address()
                    )
                } else {
                    hosts_table(&hosts)
                };
                Ok(Output::new(text, json!({ "success": true, "hosts": hosts })))
            }
            GetCommand::Inventory { host_id, conn } => {
                let lattice = conn.connect().await?;
                let host_id = host_id.map(HostId::new);
                let inventories = lattice.inventories(host_id.as_ref()).await?;
                let text: Vec<String> = inventories.iter().map(inventory_text).collect();
                Ok(Output::new(
                    text.join("\n"),
                    json!({ "success": true, "inventories": inventories }),
                ))
            }
            GetCommand::Links { conn } => links(&conn).await,
            GetCommand::Claims { conn } => {
                let lattice = conn.connect().await?;
                let claims = lattice
                    .client()
                    .get_claims()
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                let text = if claims.is_empty() {
                    "no claims: the lattice runs no signed components or providers".to_owned()
                } else {
                    claims_table(&claims)
                };
                Ok(Output::new(text, json!({ "success": true, "claims": claims })))
            }
        }
    })
}

fn hosts_table(hosts: &[Host]) -> String {
    let rows: Vec<[String; 4]> = hosts
        .iter()
        .map(|h| {
            [
                h.id.to_string(),
                h.friendly_name.clone(),
                h.uptime_human
                    .clone()
                    .unwrap_or_else(|| format!("{}s", h.uptime_seconds)),
                h.version.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(["HOST ID", "FRIENDLY NAME", "UPTIME", "VERSION"], &rows)
}

pub(crate) fn inventory_text(inventory: &HostInventory) -> String {
    let mut text = format!("host {} ({})\n", inventory.host_id, inventory.friendly_name);
    let labels: Vec<String> = inventory.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !labels.is_empty() {
        text.push_str(&format!("labels: {}\n", labels.join(", ")));
    }
    text.push('\n');
    if inventory.components.is_empty() {
        text.push_str("no components\n");
    } else {
        let rows: Vec<[String; 5]> = inventory
            .components
            .iter()
            .map(|c| {
                [
                    c.id.to_string(),
                    c.name.clone().unwrap_or_default(),
                    c.active_instances.map_or_else(String::new, |n| n.to_string()),
                    c.max_instances.to_string(),
                    c.image_ref.clone(),
                ]
            })
            .collect();
        text.push_str(&table(
            ["COMPONENT ID", "NAME", "ACTIVE", "MAX INSTANCES", "IMAGE REF"],
            &rows,
        ));
    }
    text.push('\n');
    if inventory.providers.is_empty() {
        text.push_str("no providers\n");
    } else {
        let rows: Vec<[String; 3]> = inventory
            .providers
            .iter()
            .map(|p| {
                [
                    p.id.to_string(),
                    p.name.clone().unwrap_or_default(),
                    p.image_ref.clone().unwrap_or_default(),
                ]
            })
            .collect();
        text.push_str(&table(["PROVIDER ID", "NAME", "IMAGE REF"], &rows));
    }
    text
}

/// Every link in the lattice: `wash get links` and `wash link query`.
pub(crate) async fn links(conn: &CliConnectionOpts) -> anyhow::Result<Output> {
    let lattice = conn.connect().await?;
    let links = lattice
        .client()
        .get_links()
        .await
        .map_err(|e| lattice.any_host_error(e))?;
    let text = if links.is_empty() {
        "no links: add one with `wash link put`".to_owned()
    } else {
        links_table(&links)
    };
    Ok(Output::new(text, json!({ "success": true, "links": links })))
}

fn links_table(links: &[Link]) -> String {
    let rows: Vec<[String; 4]> = links
        .iter()
        .map(|l| {
            let interfaces: Vec<String> = l
                .interfaces
                .iter()
                .map(|i| format!("{}:{}/{i}", l.wit_namespace, l.wit_package))
                .collect();
            [
                l.source_id.to_string(),
                l.target.to_string(),
                l.name.to_string(),
                interfaces.join(", "),
            ]
        })
        .collect();
    table(["SOURCE", "TARGET", "NAME", "INTERFACES"], &rows)
}

fn claims_table(claims: &[ClaimsEntry]) -> String {
    let rows: Vec<[String; 5]> = claims
        .iter()
        .map(|c| {
            [
                c.name().unwrap_or_default().to_owned(),
                c.subject().unwrap_or_default().to_owned(),
                c.issuer().unwrap_or_default().to_owned(),
                c.version().unwrap_or_default().to_owned(),
                c.revision().map(|r| r.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    table(["NAME", "SUBJECT", "ISSUER", "VERSION", "REVISION"], &rows)
}
