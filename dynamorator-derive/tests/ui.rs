//! What `#[derive(Cached)]` and `#[memoize]` (`memoize_*.rs`) refuse, one file per misuse in
//! tests/ui/, each with the exact compile error it gives (the `.stderr` beside it). The cases
//! build against `dynamorator` without default features, so no AWS SDK is compiled for them.

#[test]
fn misuses_of_derive_cached_are_compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
