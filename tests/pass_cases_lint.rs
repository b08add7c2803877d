//! The trybuild pass cases compiled again as modules of this test crate, so that
//! `cargo clippy --all-targets -- -D warnings` lints the expansion of `#[in_netns]`
//! and `#[in_ns]` exactly as it lints a user's code (trybuild runs rustc only).

// The cases are written as crate roots, where their `pub` items are reachable.
#![allow(unreachable_pub)]

#[path = "ui/pass/allowed-calls.rs"]
mod allowed_calls;
#[path = "ui/pass/async-functions.rs"]
mod async_functions;
#[path = "ui/pass/attributes.rs"]
mod attributes;
#[path = "ui/pass/crate-path.rs"]
mod crate_path;
#[path = "ui/pass/free-functions.rs"]
mod free_functions;
#[path = "ui/pass/in-ns.rs"]
mod in_ns;
#[path = "ui/pass/methods.rs"]
mod methods;
#[path = "ui/pass/runtime-argument.rs"]
mod runtime_argument;

#[test]
fn pass_cases_compile_and_their_mains_run() {
    allowed_calls::main();
    async_functions::main();
    attributes::main();
    crate_path::main();
    free_functions::main();
    in_ns::main();
    methods::main();
    runtime_argument::main();
}
