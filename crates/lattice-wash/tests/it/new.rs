//! `wash new component`: a template becomes a project that `wash build`
//! builds and signs at once, with keys generated on first use.

use crate::build::wash_in;

#[test]
fn a_new_hello_project_builds_signs_and_generates_keys() {
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let run = wash_in(
        work.path(),
        &keys,
        &["new", "component", "my-app", "--template", "hello"],
    );
    assert!(run.success, "{}", run.stderr);
    let project = work.path().join("my-app");
    assert!(project.join("Cargo.toml").is_file());

    // --build-only writes the unsigned component and touches no keys.
    let run = wash_in(&project, &keys, &["-o", "json", "build", "--build-only"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.json()["signed"], false);
    assert!(project.join("build/my_app.wasm").is_file());
    assert!(!keys.exists());

    // --sign-only with --disable-keygen refuses, naming the missing key.
    let run = wash_in(&project, &keys, &["build", "--sign-only", "--disable-keygen"]);
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("tester_account.nk does not exist"),
        "{}",
        run.stderr
    );

    let run = wash_in(&project, &keys, &["-o", "json", "build", "--sign-only"]);
    assert!(run.success, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["built"], false);
    assert_eq!(json["signed"], true);
    assert!(keys.join("tester_account.nk").is_file());
    assert!(keys.join("my_app_module.nk").is_file());

    let claims = wash_in(&project, &keys, &["-o", "json", "inspect", "build/my_app_s.wasm"]).json();
    assert_eq!(claims["name"], "my-app");
    assert_eq!(claims["version"], "0.1.0");
    assert_eq!(claims["kind"], "component");
}

#[test]
fn the_examples_are_the_templates_rendered() {
    // examples/hello and examples/kvcounter were created with `wash new`; keep them in step.
    let work = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for template in ["hello", "kvcounter"] {
        let run = wash_in(
            work.path(),
            work.path(),
            &["-o", "json", "new", "component", template, "--template", template],
        );
        assert!(run.success, "{}", run.stderr);
        for file in run.json()["files"].as_array().unwrap() {
            let file = file.as_str().unwrap();
            let rendered = std::fs::read_to_string(work.path().join(template).join(file)).unwrap();
            let example = std::fs::read_to_string(examples.join(template).join(file)).unwrap();
            assert_eq!(
                rendered, example,
                "examples/{template}/{file} differs from its template"
            );
        }
    }
}

#[test]
fn bad_names_and_existing_folders_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let run = wash_in(work.path(), work.path(), &["new", "component", "1bad"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("`1bad` cannot be a project name"), "{}", run.stderr);
    std::fs::create_dir(work.path().join("taken")).unwrap();
    let run = wash_in(work.path(), work.path(), &["new", "component", "taken"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let run = wash_in(
        work.path(),
        work.path(),
        &["new", "component", "x", "--template", "nope"],
    );
    assert!(!run.success);
    assert!(run.stderr.contains("unknown template `nope`"), "{}", run.stderr);
}
