//! `wash completions <shell>`: completion scripts generated from the same
//! clap definitions that parse the command line, so they never drift.

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use super::{Cli, Output};

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    shell: Shell,
}

pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<Output> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "wash", &mut script);
    Ok(Output::raw(String::from_utf8(script)?))
}
