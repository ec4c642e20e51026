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
          call         Call a running component's function over wRPC and print the result
          claims       Sign components and inspect their claims
          completions  Print a shell completion script
          config       Put, get and delete named configurations on the lattice
          dev          Build the project, serve it on 127.0.0.1:8000 and rebuild on every save
          down         Stop the host and nats-server that `wash up` started
          get          List hosts, inventories, links and claims on the lattice
          inspect      Describe a component or module: its claims and, with --wit, its WIT world
          keys         Generate, show and list nkeys key pairs
          label        Set or remove labels on a host
          link         Put, delete and list links between components and providers
          new          Create a project from a template
          par          Create, inspect and extend provider archives (.par, .par.gz)
          pull         Pull a component or provider archive from an OCI registry into a file
          push         Push a component (.wasm) or provider archive (.par.gz) to an OCI registry
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
fn call_help_states_what_can_be_called() {
    let dir = tempfile::tempdir().unwrap();
    let run = wash(dir.path(), &["call", "--help"]);
    assert!(run.success);
    // Up to the options, whose env values depend on the caller's shell.
    let head = run.stdout.split("Options:").next().unwrap();
    expect![[r#"
        Call a running component's function over wRPC and print the result.

        Two kinds of function can be called. An HTTP handler, `wrpc:http/incoming-handler.handle` (or
        `wasi:http/incoming-handler.handle`), gets a request built from the --http-* flags, and its status,
        headers and body are printed. Any other function is called with each ARG as a string parameter and
        must return one string: wash does not know the component's types, so functions with other parameter
        or result types cannot be called this way.

        Usage: wash call [OPTIONS] <COMPONENT_ID> <FUNCTION> [ARGS]...

        Arguments:
          <COMPONENT_ID>
                  The ID the component runs under

          <FUNCTION>
                  The function, as `namespace:package/interface@version.function`, e.g.
                  `wrpc:http/incoming-handler.handle` or `test:unlinked/greeter@0.1.0.greet`

          [ARGS]...
                  The function's parameters, in order, each a string (only functions taking strings and
                  returning one string can be called; see --help)

    "#]]
    .assert_eq(head);
}

#[test]
fn completions_are_generated_for_bash() {
    let dir = tempfile::tempdir().unwrap();
    let run = wash(dir.path(), &["completions", "bash"]);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("complete -F _wash"), "{}", run.stdout);
    assert!(run.stdout.contains("inspect"));
}
