//! `wash keys gen|get|list`.

use crate::wash;

#[test]
fn gen_prints_a_key_of_every_type() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, prefix) in [
        ("account", "A"),
        ("module", "M"),
        ("component", "M"),
        ("service", "V"),
        ("provider", "V"),
        ("server", "N"),
        ("host", "N"),
        ("operator", "O"),
        ("cluster", "C"),
        ("user", "U"),
        ("curve", "X"),
    ] {
        let run = wash(dir.path(), &["keys", "gen", kind, "-o", "json"]);
        assert!(run.success, "{kind}: {}", run.stderr);
        let json = run.json();
        let public = json["public_key"].as_str().unwrap();
        let seed = json["seed"].as_str().unwrap();
        assert!(public.starts_with(prefix), "{kind}: {public}");
        assert_eq!(public.len(), 56, "{kind}: {public}");
        assert!(seed.starts_with(&format!("S{prefix}")), "{kind}: {seed}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "gen must not store anything"
    );
}

#[test]
fn gen_rejects_an_unknown_type() {
    let dir = tempfile::tempdir().unwrap();
    let run = wash(dir.path(), &["keys", "gen", "banana"]);
    assert!(!run.success);
    assert!(run.stderr.contains("unknown key type `banana`"), "{}", run.stderr);
}

#[test]
fn list_and_get_show_stored_keys() {
    let dir = tempfile::tempdir().unwrap();
    let empty = wash(dir.path(), &["keys", "list"]);
    assert!(
        empty.success && empty.stdout.starts_with("no keys in"),
        "{}",
        empty.stdout
    );

    std::fs::write(dir.path().join("alice_account.nk"), crate::ACCOUNT_SEED).unwrap();
    let list = wash(dir.path(), &["keys", "list", "-o", "json"]).json();
    assert_eq!(list["keys"][0]["name"], "alice_account");
    assert_eq!(list["keys"][0]["key_type"], "account");

    let get = wash(dir.path(), &["keys", "get", "alice_account"]);
    assert!(get.success, "{}", get.stderr);
    assert!(get.stdout.contains(crate::ACCOUNT_SEED), "{}", get.stdout);

    wash(dir.path(), &["keys", "get", "nobody"]).assert_clean_failure();
}
