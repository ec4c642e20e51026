//! The command tree: one module per subcommand, each returning an [`Output`]
//! that is printed as text or JSON according to the global `-o` flag.

mod build;
mod call;
mod claims;
mod completions;
mod config;
mod conn;
mod dev;
mod down;
mod get;
mod inspect;
mod keys;
mod label;
mod link;
mod new;
mod output;
mod par;
mod registry;
mod scale;
mod start;
mod stop;
mod table;
mod up;
mod update;

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
    /// Call a running component's function over wRPC and print the result.
    ///
    /// Two kinds of function can be called. An HTTP handler, `wrpc:http/incoming-handler.handle`
    /// (or `wasi:http/incoming-handler.handle`), gets a request built from the --http-* flags,
    /// and its status, headers and body are printed. Any other function is called with each ARG
    /// as a string parameter and must return one string: wash does not know the component's
    /// types, so functions with other parameter or result types cannot be called this way.
    Call(call::CallArgs),
    /// Sign components and inspect their claims.
    #[command(subcommand)]
    Claims(claims::ClaimsCommand),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Put, get and delete named configurations on the lattice.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Build the project, serve it on 127.0.0.1:8000 and rebuild on every save.
    ///
    /// Runs the component on a host embedded in wash (HTTP in, key-value in memory, config; no
    /// NATS). A failed build shows the compiler's error and leaves the last good build serving;
    /// a good one replaces it without changing the URL. Ctrl-C stops it.
    Dev(dev::DevArgs),
    /// Stop the host and nats-server that `wash up` started.
    Down(down::DownArgs),
    /// List hosts, inventories, links and claims on the lattice.
    #[command(subcommand)]
    Get(get::GetCommand),
    /// Describe a component or module: its claims and, with --wit, its WIT world.
    Inspect(inspect::InspectArgs),
    /// Generate, show and list nkeys key pairs.
    #[command(subcommand, alias = "key")]
    Keys(keys::KeysCommand),
    /// Set or remove labels on a host.
    #[command(alias = "tag")]
    Label(label::LabelArgs),
    /// Put, delete and list links between components and providers.
    #[command(subcommand, alias = "links")]
    Link(link::LinkCommand),
    /// Create a project from a template.
    #[command(subcommand)]
    New(new::NewCommand),
    /// Create, inspect and extend provider archives (.par, .par.gz).
    #[command(subcommand)]
    Par(par::ParCommand),
    /// Pull a component or provider archive from an OCI registry into a file.
    Pull(registry::PullArgs),
    /// Push a component (.wasm) or provider archive (.par.gz) to an OCI registry.
    Push(registry::PushArgs),
    /// Scale a component on a host.
    #[command(subcommand)]
    Scale(scale::ScaleCommand),
    /// Start a component or provider on the lattice.
    #[command(subcommand)]
    Start(start::StartCommand),
    /// Stop a component, provider or host.
    #[command(subcommand)]
    Stop(stop::StopCommand),
    /// Start a local lattice: nats-server (unless one runs) and a wasmcloud host.
    Up(up::UpArgs),
    /// Update a running component to a new reference.
    #[command(subcommand)]
    Update(update::UpdateCommand),
}

/// Parses the command line, runs the command and prints its result; errors
/// are printed (as JSON with `-o json`) and give exit code 1.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Call(args) => call::run(args),
        Command::Claims(cmd) => claims::run(cmd),
        Command::Completions(args) => completions::run(&args),
        Command::Config(cmd) => config::run(cmd),
        Command::Dev(args) => dev::run(&args, cli.output),
        Command::Down(args) => down::run(&args),
        Command::Get(cmd) => get::run(cmd),
        Command::Inspect(args) => inspect::run(&args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Label(args) => label::run(args),
        Command::Link(cmd) => link::run(cmd),
        Command::New(cmd) => new::run(cmd),
        Command::Par(cmd) => par::run(cmd),
        Command::Pull(args) => registry::pull(&args),
        Command::Push(args) => registry::push(&args),
        Command::Scale(cmd) => scale::run(cmd),
        Command::Start(cmd) => start::run(cmd),
        Command::Stop(cmd) => stop::run(cmd),
        Command::Up(args) => up::run(args),
        Command::Update(cmd) => update::run(cmd),
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
