//! Compile-fail and pass cases of `#[in_netns]`, checked with trybuild against the
//! `.stderr` snapshots beside them. Regenerate with `TRYBUILD=overwrite cargo test
//! --test compiletest`, then read every changed snapshot.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
