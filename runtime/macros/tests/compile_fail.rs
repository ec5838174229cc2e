//! Misuse of `#[runtime::main]` and `#[runtime::test]`: each fixture in
//! `ui/` must fail to compile with the message and the span recorded in
//! its `.stderr` file beside it (regenerate with `TRYBUILD=overwrite` and
//! read the diff). The fixtures name the attributes through this crate,
//! `runtime_macros::{main, test}`, so that they build without the runtime.

#[test]
fn misuse_is_a_clear_error_at_the_offending_tokens() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
