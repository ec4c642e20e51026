//! `wash config put|get|del`: named configurations stored in the lattice.

use clap::Subcommand;
use lattice_control_interface::ConfigName;
use lattice_wash::lattice::parse_key_values;
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on};
use super::output;

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Store a named configuration, replacing one of the same name.
    Put {
        /// The configuration's name.
        name: String,
        /// Values as KEY=VALUE.
        #[arg(required = true, value_name = "KEY=VALUE")]
        values: Vec<String>,
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
    /// Show a named configuration.
    Get {
        /// The configuration's name.
        name: String,
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
    /// Delete a named configuration.
    #[command(alias = "delete")]
    Del {
        /// The configuration's name.
        name: String,
        #[command(flatten)]
        conn: CliConnectionOpts,
    },
}

pub(crate) fn run(cmd: ConfigCommand) -> anyhow::Result<Output> {
    block_on(async move {
        match cmd {
            ConfigCommand::Put { name, values, conn } => {
                let name = config_name(&name)?;
                if name.is_secret() {
                    anyhow::bail!(
                        "configuration names starting with `SECRET` are secret references: pick another name"
                    );
                }
                let values = parse_key_values("config value", &values)?;
                let lattice = conn.connect().await?;
                let message = lattice
                    .client()
                    .put_config(&name, &values)
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                Ok(Output::new(
                    format!("put configuration `{name}` ({} value(s))", values.len()),
                    json!({ "success": true, "name": name, "message": message }),
                ))
            }
            ConfigCommand::Get { name, conn } => {
                let name = config_name(&name)?;
                let lattice = conn.connect().await?;
                let values = lattice
                    .client()
                    .get_config(&name)
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                let Some(values) = values else {
                    anyhow::bail!("no configuration named `{name}`: create it with `wash config put {name} KEY=VALUE`");
                };
                let rows: Vec<(&str, String)> = values.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                let text = if rows.is_empty() {
                    format!("configuration `{name}` is empty")
                } else {
                    format!("configuration `{name}`:\n{}", output::rows(&rows))
                };
                Ok(Output::new(
                    text,
                    json!({ "success": true, "name": name, "values": values }),
                ))
            }
            ConfigCommand::Del { name, conn } => {
                let name = config_name(&name)?;
                let lattice = conn.connect().await?;
                let message = lattice
                    .client()
                    .delete_config(&name)
                    .await
                    .map_err(|e| lattice.any_host_error(e))?;
                Ok(Output::new(
                    format!("deleted configuration `{name}`"),
                    json!({ "success": true, "name": name, "message": message }),
                ))
            }
        }
    })
}

fn config_name(name: &str) -> anyhow::Result<ConfigName> {
    if lattice_control_interface::subject::is_valid_token(name) {
        Ok(ConfigName::new(name))
    } else {
        anyhow::bail!("invalid configuration name `{name}`: use one without dots, wildcards or whitespace")
    }
}
