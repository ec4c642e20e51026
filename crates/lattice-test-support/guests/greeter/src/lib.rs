//! Exports `test:unlinked/greeter`: `greet(name)` answers `hello, <name>`, or traps when the
//! name is `trap` (so a caller sees a failing remote call). The target of `http-unlinked`'s
//! link in the wRPC tests.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test:greeter/greeter",
        generate_all,
    });
}

use bindings::exports::test::unlinked::greeter::Guest;

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        assert!(name != "trap", "asked to trap");
        format!("hello, {name}")
    }
}

bindings::export!(Greeter with_types_in bindings);
