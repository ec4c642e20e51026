//! `wash --help` and `wash completions`: the command tree users see.

use expect_test::expect;

use crate::wash;

#[test]
fn top_level_help_lists_only_working_commands() {
    let dir = tempfile::tempdir().unwrap();
    let run = wash(dir.path(), &["-h"]);
    assert!(run.success);
    expect![[r#"
        wash: build, sign, inspect and run WebAssembly components on a wasmCloud lattice

        Usage: wash [OPTIONS] <COMMAND>

        Commands:
          build        Build and sign the component described by wasmcloud.toml
          claims       Sign components and inspect their claims
          completions  Print a shell completion script
          config       Put, get and delete named configurations on the lattice
          down         Stop the host and nats-server that `wash up` started
          get          List hosts, inventories, links and claims on the lattice
          inspect      Describe a component or module: its claims and, with --wit, its WIT world
          keys         Generate, show and list nkeys key pairs
          label        Set or remove labels on a host
          link         Put, delete and list links between components and providers
          new          Create a project from a template
          par          Create, inspect and extend provider archives (.par, .par.gz)
          scale        Scale a component on a host
          start        Start a component or provider on the lattice
          stop         Stop a component, provider or host
          up           Start a local lattice: nats-server (unless one runs) and a wasmcloud host
          update       Update a running component to a new reference
          help         Print this message or the help of the given subcommand(s)

        Options:
          -o, --output <OUTPUT>  Output format for everything the command prints [default: text] [possible
                                 values: text, json]
          -h, --help             Print help (see more with '--help')
          -V, --version          Print version
    "#]]
    .assert_eq(&run.stdout);
}

#[test]
fn completions_are_generated_for_bash() {
    let dir = tempfile::tempdir().unwrap();
    let run = wash(dir.path(), &["completions", "bash"]);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("complete -F _wash"), "{}", run.stdout);
    assert!(run.stdout.contains("inspect"));
}
