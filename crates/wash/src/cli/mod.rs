//! The command tree: one module per subcommand, each returning an [`Output`]
//! that is printed as text or JSON according to the global `-o` flag.

mod build;
mod claims;
mod completions;
mod inspect;
mod keys;
mod new;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use output::{Output, OutputKind};

/// wash: build, sign, inspect and run WebAssembly components on a wasmCloud lattice.
#[derive(Debug, Parser)]
#[command(name = "wash", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    /// Output format for everything the command prints.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = OutputKind::Text)]
    output: OutputKind,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build and sign the component described by wasmcloud.toml.
    Build(build::BuildArgs),
    /// Sign components and inspect their claims.
    #[command(subcommand)]
    Claims(claims::ClaimsCommand),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Describe a component or module: its claims and, with --wit, its WIT world.
    Inspect(inspect::InspectArgs),
    /// Generate, show and list nkeys key pairs.
    #[command(subcommand, alias = "key")]
    Keys(keys::KeysCommand),
    /// Create a project from a template.
    #[command(subcommand)]
    New(new::NewCommand),
}

/// Parses the command line, runs the command and prints its result; errors
/// are printed (as JSON with `-o json`) and give exit code 1.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Claims(cmd) => claims::run(cmd),
        Command::Completions(args) => completions::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::New(cmd) => new::run(cmd),
    };
    match result {
        Ok(output) => {
            output.print(cli.output);
            ExitCode::SUCCESS
        }
        Err(err) => {
            output::print_error(cli.output, &err);
            ExitCode::FAILURE
        }
    }
}
