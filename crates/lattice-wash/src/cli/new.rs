//! `wash new component`: create a project from a template compiled into wash.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lattice_wash::new::{Template, create};
use serde_json::json;

use super::Output;

#[derive(Debug, Subcommand)]
pub(crate) enum NewCommand {
    /// Create a component project that `wash build` builds as it is.
    Component(ComponentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ComponentArgs {
    /// Project name: the folder, the Cargo package and the component name.
    name: String,
    /// hello (an HTTP greeting) or kvcounter (an HTTP counter in wasi:keyvalue).
    #[arg(short = 't', long = "template", default_value = "hello", value_parser = parse_template)]
    template: Template,
    /// Folder to create the project in [default: the current directory].
    #[arg(long = "path", value_name = "DIR")]
    path: Option<PathBuf>,
}

fn parse_template(s: &str) -> Result<Template, String> {
    s.parse().map_err(|e: lattice_wash::new::NewError| e.to_string())
}

pub(crate) fn run(cmd: NewCommand) -> anyhow::Result<Output> {
    match cmd {
        NewCommand::Component(args) => {
            let parent = args.path.unwrap_or_else(|| PathBuf::from("."));
            let (root, files) = create(&args.name, args.template, &parent)?;
            let text = format!(
                "Created {} from the {} template in {}\n  build it with: cd {} && wash build\n",
                args.name,
                args.template,
                root.display(),
                root.display()
            );
            Ok(Output::new(
                text,
                json!({ "name": args.name, "template": args.template.name(), "path": root, "files": files }),
            ))
        }
    }
}
