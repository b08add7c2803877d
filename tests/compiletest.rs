//! Compile-fail and pass cases of `#[in_netns]` and `#[in_ns]`, checked with trybuild
//! against the `.stderr` snapshots beside them. Regenerate with `TRYBUILD=overwrite
//! cargo test --test compiletest` (and the same with `--no-default-features` for
//! `tests/ui/no-tokio/`), then read every changed snapshot.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    if cfg!(feature = "tokio") {
        cases.compile_fail("tests/ui/*.rs");
        cases.pass("tests/ui/pass/*.rs");
    } else {
        // ns-runtime without `tokio` (`cargo test --no-default-features --test
        // compiletest`): what an `async fn` under the attributes says then.
        cases.compile_fail("tests/ui/no-tokio/*.rs");
    }
}
