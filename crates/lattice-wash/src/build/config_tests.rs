//! Unit tests of the `wasmcloud.toml` parser: both schemas, warnings, and one
//! clear error per kind of bad input.

use std::path::Path;

use expect_test::{Expect, expect};

use super::*;

const FILE: &str = "/project/wasmcloud.toml";

fn parse(text: &str) -> Result<ProjectConfig, ConfigError> {
    ProjectConfig::parse(text, Path::new(FILE))
}

fn check(text: &str, expected: &Expect) {
    expected.assert_debug_eq(&parse(text).unwrap());
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn warnings(text: &str) -> Vec<String> {
    parse(text).unwrap().warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn v1_schema() {
    check(
        r#"
name = "http-hello-world"
version = "0.1.0"
language = "rust"
type = "component"

[component]
wit_world = "hello"
wasm_target = "wasm32-wasip2"
tags = ["http", "example"]
destination = "out/hello_s.wasm"

[rust]
debug = true
target_path = "/tmp/target"
"#,
        &expect![[r#"
            ProjectConfig {
                file: "/project/wasmcloud.toml",
                schema: V1,
                project_type: Component,
                language: Rust,
                name: Some(
                    "http-hello-world",
                ),
                version: Some(
                    "0.1.0",
                ),
                revision: 0,
                project_dir: "/project",
                wit_dir: "/project/wit",
                wit_explicit: false,
                build_dir: "/project/build",
                component: ComponentConfig {
                    key_directory: None,
                    wasm_target: WasiP2,
                    wasip1_adapter_path: None,
                    wit_world: Some(
                        "hello",
                    ),
                    tags: [
                        "http",
                        "example",
                    ],
                    call_alias: None,
                    build_command: None,
                    build_artifact: None,
                    destination: Some(
                        "/project/out/hello_s.wasm",
                    ),
                },
                provider: None,
                rust: RustConfig {
                    cargo_path: None,
                    target_path: Some(
                        "/tmp/target",
                    ),
                    debug: true,
                },
                tinygo: TinyGoConfig {
                    tinygo_path: None,
                    disable_go_generate: false,
                    scheduler: None,
                    garbage_collector: None,
                },
                go: GoConfig {
                    go_path: None,
                    disable_go_generate: false,
                },
                dev: DevConfig {
                    config: [],
                    imports: [],
                },
                warnings: [],
            }
        "#]],
    );
}

#[test]
fn actor_2023_schema() {
    check(
        r#"
name = "KV Counter"
version = "0.2.1"
revision = 3
language = "rust"
type = "actor"

[actor]
claims = ["wasmcloud:httpserver", "wasmcloud:keyvalue"]
key_directory = "./keys"
call_alias = "kv-counter"
wasm_target = "wasm32-wasi-preview2"
"#,
        &expect![[r#"
            ProjectConfig {
                file: "/project/wasmcloud.toml",
                schema: Actor2023,
                project_type: Component,
                language: Rust,
                name: Some(
                    "KV Counter",
                ),
                version: Some(
                    "0.2.1",
                ),
                revision: 3,
                project_dir: "/project",
                wit_dir: "/project/wit",
                wit_explicit: false,
                build_dir: "/project/build",
                component: ComponentConfig {
                    key_directory: Some(
                        "/project/keys",
                    ),
                    wasm_target: WasiP2,
                    wasip1_adapter_path: None,
                    wit_world: None,
                    tags: [],
                    call_alias: Some(
                        "kv-counter",
                    ),
                    build_command: None,
                    build_artifact: None,
                    destination: None,
                },
                provider: None,
                rust: RustConfig {
                    cargo_path: None,
                    target_path: None,
                    debug: false,
                },
                tinygo: TinyGoConfig {
                    tinygo_path: None,
                    disable_go_generate: false,
                    scheduler: None,
                    garbage_collector: None,
                },
                go: GoConfig {
                    go_path: None,
                    disable_go_generate: false,
                },
                dev: DevConfig {
                    config: [],
                    imports: [],
                },
                warnings: [
                    Warning {
                        file: "/project/wasmcloud.toml",
                        line: 6,
                        key: "type",
                        message: "`type = \"actor\"` is the 2023 schema: read as a component; write `type = \"component\"` and rename `[actor]` to `[component]`",
                    },
                    Warning {
                        file: "/project/wasmcloud.toml",
                        line: 9,
                        key: "actor.claims",
                        message: "legacy key `actor.claims` is ignored: wasmCloud v1 no longer reads it; remove it",
                    },
                ],
            }
        "#]],
    );
}

#[test]
fn other_languages_and_tables() {
    check(
        r#"
name = "py"
version = "1.0.0"
language = "python"
type = "component"
path = "src"
wit = "../wit"
build = "out"

[component]
wit_world = "proxy"
build_command = "make component"
build_artifact = "out/py.wasm"

[tinygo]
scheduler = "asyncify"
garbage_collector = "leaking"

[go]
disable_go_generate = true
"#,
        &expect![[r#"
            ProjectConfig {
                file: "/project/wasmcloud.toml",
                schema: V1,
                project_type: Component,
                language: Python,
                name: Some(
                    "py",
                ),
                version: Some(
                    "1.0.0",
                ),
                revision: 0,
                project_dir: "/project/src",
                wit_dir: "/project/src/../wit",
                wit_explicit: true,
                build_dir: "/project/src/out",
                component: ComponentConfig {
                    key_directory: None,
                    wasm_target: CoreModule,
                    wasip1_adapter_path: None,
                    wit_world: Some(
                        "proxy",
                    ),
                    tags: [],
                    call_alias: None,
                    build_command: Some(
                        "make component",
                    ),
                    build_artifact: Some(
                        "/project/src/out/py.wasm",
                    ),
                    destination: None,
                },
                provider: None,
                rust: RustConfig {
                    cargo_path: None,
                    target_path: None,
                    debug: false,
                },
                tinygo: TinyGoConfig {
                    tinygo_path: None,
                    disable_go_generate: false,
                    scheduler: Some(
                        "asyncify",
                    ),
                    garbage_collector: Some(
                        "leaking",
                    ),
                },
                go: GoConfig {
                    go_path: None,
                    disable_go_generate: true,
                },
                dev: DevConfig {
                    config: [],
                    imports: [],
                },
                warnings: [],
            }
        "#]],
    );
}

#[test]
fn misspelt_keys_warn_with_a_suggestion_and_line() {
    let got = warnings(
        "name = \"x\"\nlanguage = \"rust\"\ntype = \"component\"\n[component]\nwasm_taget = \"wasm32-wasip2\"\nbogus = 1\n",
    );
    assert_eq!(
        got,
        [
            "/project/wasmcloud.toml:5: unknown key `component.wasm_taget` is ignored: did you mean `component.wasm_target`?",
            "/project/wasmcloud.toml:6: unknown key `component.bogus` is ignored: remove it",
        ]
    );
}

#[test]
fn legacy_keys_and_type_warn() {
    let got = warnings(
        "language = \"rust\"\ntype = \"actor\"\n[actor]\nclaims = [\"wasmcloud:httpserver\"]\n[rust]\ntarget_dir = \"t\"\n",
    );
    assert_eq!(
        got,
        [
            "/project/wasmcloud.toml:2: `type = \"actor\"` is the 2023 schema: read as a component; write `type = \"component\"` and rename `[actor]` to `[component]`",
            "/project/wasmcloud.toml:4: legacy key `actor.claims` is ignored: wasmCloud v1 no longer reads it; remove it",
            "/project/wasmcloud.toml:6: legacy key `rust.target_dir` is ignored: wasmCloud v1 no longer reads it; remove it",
        ]
    );
}

#[test]
fn wrong_types_name_key_and_line() {
    assert_eq!(
        error("language = \"rust\"\ntype = \"component\"\n[component]\ntags = \"http\"\n"),
        "/project/wasmcloud.toml:4: `component.tags` must be an array of strings, found a string"
    );
    assert_eq!(
        error("language = \"rust\"\ntype = \"component\"\nrevision = \"2\"\n"),
        "/project/wasmcloud.toml:3: `revision` must be an integer, found a string"
    );
    assert_eq!(
        error("language = \"rust\"\ntype = \"component\"\n[rust]\ndebug = \"yes\"\n"),
        "/project/wasmcloud.toml:4: `rust.debug` must be a boolean (true or false), found a string"
    );
}

#[test]
fn unknown_target_lists_the_accepted_ones() {
    assert_eq!(
        error("language = \"rust\"\ntype = \"component\"\n\n[component]\nwasm_target = \"wasm32-preview2\"\n"),
        "/project/wasmcloud.toml:5: `component.wasm_target`: unknown wasm target `wasm32-preview2`: use one of \
         wasm32-unknown-unknown, wasm32-wasi, wasm32-wasi-preview1, wasm32-wasip1, wasm32-wasi-preview2, wasm32-wasip2"
    );
}

#[test]
fn python_requires_a_name() {
    let err = parse("version = \"0.1.0\"\nlanguage = \"python\"\ntype = \"component\"\n").unwrap_err();
    assert_eq!(err.key(), Some("name"));
    assert_eq!(
        err.to_string(),
        "/project/wasmcloud.toml:2: missing `name`: `name` is required when language = \"python\" \
         (only Rust falls back to Cargo.toml): add `name = \"my-component\"` at the top"
    );
}

#[test]
fn required_keys_and_bad_values() {
    assert_eq!(
        error("type = \"component\"\n"),
        "/project/wasmcloud.toml:1: missing `language`: it is required: add e.g. `language = \"rust\"`"
    );
    assert_eq!(
        error("language = \"rust\"\ntype = \"thing\"\n"),
        "/project/wasmcloud.toml:2: `type`: unknown project type `thing`: use \"component\" or \"provider\""
    );
    assert_eq!(
        error("language = \"rust\"\ntype = \"component\"\n[component]\n[actor]\n"),
        "/project/wasmcloud.toml:4: `actor`: both [component] and [actor] are present: keep only [component]"
    );
    assert!(
        error("language = \"rust\"\ntype = \"component\"\n[tinygo]\nscheduler = \"fast\"\n")
            .starts_with("/project/wasmcloud.toml:4: `tinygo.scheduler`: unknown value `fast`")
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let err = error("language = \"rust\"\ntype = \n");
    assert!(err.starts_with("/project/wasmcloud.toml:2: invalid TOML"), "{err}");
}

#[test]
fn nearest_only_suggests_close_keys() {
    assert_eq!(nearest("wasm_taget", COMPONENT_KEYS), Some("wasm_target"));
    assert_eq!(nearest("key_dir", COMPONENT_KEYS), None);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

const DEV_HEAD: &str = r#"
name = "counter"
version = "0.1.0"
language = "rust"
type = "component"
"#;

#[test]
fn dev_config_and_import_overrides() {
    let text = format!(
        r#"{DEV_HEAD}
[dev]
config = [{{ name = "shared" }}, {{ values = {{ greeting = "hi" }} }}]

[[dev.overrides.imports]]
interface_spec = "wasi:keyvalue/store,atomics@0.2.0-draft"
image_ref = "providers/keyvalue-redis.par"
link_name = "cache"
config = [{{ values = {{ url = "redis://127.0.0.1:6379" }} }}]
link_config = [{{ name = "bucket-map" }}]

[[dev.overrides.imports]]
interface = "wasmcloud:messaging/consumer"
uri = "wasmcloud+builtin://messaging-nats"
"#
    );
    let dev = parse(&text).unwrap().dev;
    assert_eq!(
        dev.config,
        vec![
            DevConfigEntry::Named("shared".into()),
            DevConfigEntry::Values(BTreeMap::from([("greeting".into(), "hi".into())])),
        ]
    );
    let [kv, messaging] = dev.imports.as_slice() else {
        panic!("two overrides: {dev:?}");
    };
    assert_eq!((kv.namespace.as_str(), kv.package.as_str()), ("wasi", "keyvalue"));
    assert_eq!(kv.interfaces, ["store", "atomics"]);
    assert_eq!(kv.image_ref, "file:///project/providers/keyvalue-redis.par");
    assert_eq!(kv.link_name.as_deref(), Some("cache"));
    assert_eq!(
        kv.config,
        [DevConfigEntry::Values(BTreeMap::from([(
            "url".into(),
            "redis://127.0.0.1:6379".into()
        )]))]
    );
    assert_eq!(kv.link_config, [DevConfigEntry::Named("bucket-map".into())]);
    assert_eq!(messaging.interfaces, ["consumer"]);
    assert_eq!(messaging.image_ref, "wasmcloud+builtin://messaging-nats");
    assert_eq!(messaging.link_name, None);
}

#[test]
fn dev_mistakes_name_the_key_and_the_fix() {
    let bad_spec =
        format!("{DEV_HEAD}\n[[dev.overrides.imports]]\ninterface_spec = \"keyvalue\"\nimage_ref = \"x.par\"\n");
    let message = error(&bad_spec);
    assert!(
        message.contains("dev.overrides.imports.interface_spec") && message.contains("wasi:keyvalue/store,atomics"),
        "{message}"
    );
    let no_provider = format!("{DEV_HEAD}\n[[dev.overrides.imports]]\ninterface_spec = \"wasi:keyvalue/store\"\n");
    let message = error(&no_provider);
    assert!(message.contains("dev.overrides.imports.image_ref"), "{message}");
    let both = format!("{DEV_HEAD}\n[dev]\nconfig = [{{ name = \"a\", values = {{ k = \"v\" }} }}]\n");
    let message = error(&both);
    assert!(
        message.contains("dev.config") && message.contains("give exactly one"),
        "{message}"
    );
    let not_string = format!("{DEV_HEAD}\n[dev]\nconfig = [{{ values = {{ port = 8080 }} }}]\n");
    let message = error(&not_string);
    assert!(message.contains("dev.config.values.port"), "{message}");
    let unread = format!("{DEV_HEAD}\n[dev]\nmanifests = []\n");
    assert!(
        warnings(&unread)
            .iter()
            .any(|w| w.contains("`dev.manifests` is not read by this wash dev yet")),
        "{:?}",
        warnings(&unread)
    );
}
