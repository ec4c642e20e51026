//! Lattice commands against a real `nats-server` with no host on it: every
//! failure must be a clean error that names the fix, and bad arguments must
//! be refused before anything is sent.

use std::path::Path;
use std::process::Command;

use lattice_test_support::nats::NatsServer;

use crate::Run;

/// Runs `wash` with `args` and extra environment, in a scratch state directory.
pub(crate) fn wash_with(state: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wash"));
    command
        .args(args)
        .env("WASH_DATA_DIR", state)
        .env("WASH_KEYS", state.join("keys"))
        .env("USER", "tester");
    // The connection flags read these; a developer's shell must not leak in.
    for var in [
        "WASMCLOUD_CTL_HOST",
        "WASMCLOUD_CTL_PORT",
        "WASMCLOUD_LATTICE",
        "WASMCLOUD_CTL_TIMEOUT_MS",
        "WASMCLOUD_RPC_TIMEOUT_MS",
        "WASMCLOUD_JS_DOMAIN",
        "WASMCLOUD_NATS_PORT",
        "WASMCLOUD_HOST_PATH",
    ] {
        command.env_remove(var);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("wash runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `wash args… -p port` in a scratch state directory.
pub(crate) fn wash_at(port: u16, args: &[&str]) -> Run {
    let state = tempfile::tempdir().unwrap();
    let port = port.to_string();
    let mut all = args.to_vec();
    all.extend(["-p", &port]);
    wash_with(state.path(), &all, &[])
}

/// A loopback port nothing listens on right now.
pub(crate) fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn commands_without_a_host_say_to_run_wash_up() {
    let nats = NatsServer::start();
    let expected = format!(
        "error: no host answered on lattice `default` at 127.0.0.1:{}: start one with `wash up`\n",
        nats.port()
    );
    for args in [
        &["start", "component", "file:///nowhere/hello.wasm", "hello"][..],
        &["start", "provider", "wasmcloud+builtin://http-server", "http"],
        &["stop", "component", "hello"],
        &["get", "inventory"],
        &["get", "links"],
        &["get", "claims"],
        &["link", "query"],
        &["config", "get", "settings"],
        &["config", "put", "settings", "a=b"],
        &["config", "del", "settings"],
        &["link", "put", "hello", "kv", "wasi", "keyvalue", "--interface", "store"],
        &["link", "del", "hello", "wasi", "keyvalue"],
    ] {
        let run = wash_at(nats.port(), args);
        run.assert_clean_failure();
        assert_eq!(run.stderr, expected, "wash {args:?}");
    }
}

#[test]
fn a_missing_host_id_says_how_to_list_hosts() {
    let nats = NatsServer::start();
    for args in [
        &["get", "inventory", "NNOSUCHHOST"][..],
        &["label", "NNOSUCHHOST", "zone=eu"],
        &["stop", "host", "NNOSUCHHOST"],
        &["scale", "component", "NNOSUCHHOST", "file:///x.wasm", "hello"],
    ] {
        let run = wash_at(nats.port(), args);
        run.assert_clean_failure();
        assert!(
            run.stderr.contains(
                "host `NNOSUCHHOST` did not answer on lattice `default`: list the hosts with `wash get hosts`"
            ),
            "wash {args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn get_hosts_with_none_is_an_empty_list() {
    let nats = NatsServer::start();
    let run = wash_at(nats.port(), &["get", "hosts", "-o", "json"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.json(), serde_json::json!({ "success": true, "hosts": [] }));
    let run = wash_at(nats.port(), &["get", "hosts"]);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("start one with `wash up`"), "{}", run.stdout);
}

#[test]
fn errors_are_json_with_output_json() {
    let nats = NatsServer::start();
    let run = wash_at(nats.port(), &["get", "links", "-o", "json"]);
    assert!(!run.success);
    let json = run.json();
    assert_eq!(json["success"], false);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("no host answered on lattice `default`")
    );
}

#[test]
fn no_nats_server_says_so() {
    let port = unused_port();
    let run = wash_at(port, &["get", "hosts"]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: could not connect to NATS at 127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("wash up"), "{}", run.stderr);
}

#[test]
fn bad_key_value_pairs_are_refused_before_connecting() {
    // Nothing listens on this port: these must fail on parsing, not connecting.
    let port = unused_port();
    for (args, message) in [
        (
            &["config", "put", "settings", "novalue"][..],
            "error: invalid config value `novalue`: expected KEY=VALUE, e.g. `zone=eu`\n",
        ),
        (
            &["start", "component", "file:///x.wasm", "hello", "-c", "zone"],
            "error: invalid constraint `zone`: expected KEY=VALUE, e.g. `zone=eu`\n",
        ),
        (
            &["label", "NHOST", "=eu"],
            "error: invalid label `=eu`: expected KEY=VALUE, e.g. `zone=eu`\n",
        ),
        (
            &["start", "component", "file:///x.wasm", "he.llo"],
            "error: invalid component ID `he.llo`: use only letters, digits, `_` and `-`\n",
        ),
        (
            &["call", "greeter", "greet"],
            "error: `greet` does not name a function: use `namespace:package/interface@version.function`, \
             e.g. `wrpc:http/incoming-handler.handle` or `test:unlinked/greeter@0.1.0.greet`\n",
        ),
        (
            &[
                "call",
                "greeter",
                "test:unlinked/greeter@0.1.0.greet",
                "--http-path",
                "/x",
            ],
            "error: --http-* flags apply to `wrpc:http/incoming-handler.handle` only: pass \
             `test:unlinked/greeter@0.1.0.greet`'s parameters as ARGs\n",
        ),
        (
            &[
                "call",
                "hello",
                "wrpc:http/incoming-handler.handle",
                "--http-method",
                "BA D",
            ],
            "error: `BA D` is not an HTTP method: use e.g. GET or POST\n",
        ),
        (
            &[
                "call",
                "hello",
                "wrpc:http/incoming-handler.handle",
                "--http-header",
                "nocolon",
            ],
            "error: invalid header `nocolon`: expected NAME:VALUE, e.g. `accept:text/plain`\n",
        ),
        (
            &["start", "provider", "./missing.par.gz", "http"],
            "error: no provider archive or executable at `./missing.par.gz`: pass an existing file, \
             a file:// URL or wasmcloud+builtin://http-server\n",
        ),
        (
            &["start", "provider", "wasmcloud+builtin://http-server", "http server"],
            "error: invalid provider ID `http server`: use only letters, digits, `_` and `-`\n",
        ),
        (
            &[
                "link",
                "put",
                "src",
                "tar/get",
                "wasi",
                "keyvalue",
                "--interface",
                "store",
            ],
            "error: invalid target ID `tar/get`: use only letters, digits, `_` and `-`\n",
        ),
        (
            &["config", "put", "SECRET_db", "a=b"],
            "error: configuration names starting with `SECRET` are secret references: pick another name\n",
        ),
    ] {
        let run = wash_at(port, args);
        run.assert_clean_failure();
        assert_eq!(run.stderr, message, "wash {args:?}");
    }
}

#[test]
fn up_without_nats_server_names_the_install_command() {
    let state = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let port = unused_port().to_string();
    let run = wash_with(
        state.path(),
        &["up", "--nats-port", &port],
        &[("PATH", empty_path.path().as_os_str())],
    );
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("install it with `apt-get install -y nats-server`"),
        "{}",
        run.stderr
    );
    assert!(!state.path().join("nats.pid").exists());
}

#[test]
fn up_connect_only_without_nats_fails_cleanly() {
    let state = tempfile::tempdir().unwrap();
    let port = unused_port().to_string();
    let run = wash_with(state.path(), &["up", "--nats-port", &port, "--nats-connect-only"], &[]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("drop --nats-connect-only"), "{}", run.stderr);
}

#[test]
fn up_with_a_missing_host_binary_starts_nothing() {
    let nats = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let run = wash_with(
        state.path(),
        &["up", "--nats-port", &port, "--host-path", "/no/such/wasmcloud"],
        &[],
    );
    run.assert_clean_failure();
    assert!(run.stderr.contains("fix --host-path"), "{}", run.stderr);
    assert!(!state.path().join("wasmcloud.pid").exists());
}

#[test]
fn up_with_a_host_that_exits_at_once_reports_it_and_cleans_up() {
    let nats = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let run = wash_with(
        state.path(),
        &["up", "--detached", "--nats-port", &port, "--host-path", "/bin/false"],
        &[],
    );
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with("error: the host exited (exit status: 1) before answering"),
        "{}",
        run.stderr
    );
    for file in ["wasmcloud.pid", "nats.pid", "up.json"] {
        assert!(!state.path().join(file).exists(), "{file} left behind");
    }
}

#[test]
fn down_with_nothing_running_says_so() {
    let state = tempfile::tempdir().unwrap();
    let run = wash_with(state.path(), &["down"], &[]);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.starts_with("nothing to stop"), "{}", run.stdout);
}

#[test]
fn ctl_credentials_reach_a_server_that_requires_them() {
    let user = nkeys::KeyPair::new_user();
    let nats = NatsServer::builder().nkey_user(user.public_key()).start();
    let run = wash_at(nats.port(), &["get", "hosts"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("refused wash's credentials"), "{}", run.stderr);
    assert!(run.stderr.contains("--ctl-seed"), "{}", run.stderr);
    let seed = user.seed().unwrap();
    let run = wash_at(nats.port(), &["get", "hosts", "-o", "json", "--ctl-seed", &seed]);
    assert!(run.success, "{}", run.stderr);
    assert!(!run.stderr.contains(&seed) && !run.stdout.contains(&seed));
}

#[test]
fn ctl_tls_ca_file_trusts_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = lattice_test_support::tls::PrivateCa::create(dir.path());
    let nats = NatsServer::builder().tls(&ca.cert_file, &ca.key_file).start();
    let run = wash_at(nats.port(), &["get", "hosts"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("--ctl-tls-ca-file"), "{}", run.stderr);
    let ca_file = ca.ca_file.display().to_string();
    let by_flag = wash_at(
        nats.port(),
        &["get", "hosts", "-o", "json", "--ctl-tls-ca-file", &ca_file],
    );
    assert!(by_flag.success, "{}", by_flag.stderr);
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let by_env = wash_with(
        state.path(),
        &["get", "hosts", "-o", "json", "-p", &port],
        &[("WASH_CTL_TLS_CA_FILE", ca.ca_file.as_os_str())],
    );
    assert!(by_env.success, "{}", by_env.stderr);
}
