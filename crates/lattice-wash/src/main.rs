//! The `wash` binary: parses the command line and runs it (see `cli`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
