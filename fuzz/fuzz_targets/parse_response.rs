//! Bytes → a read response body (GetItem, BatchGetItem, Scan), parsed as the DynamoDB backend
//! parses the bodies it takes from the SDK.
//!
//!     cargo fuzz run parse_response          (from the repository root; see fuzz/README.md)

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let _ = dynamorator_testkit::fuzz_input::parse_response(bytes);
});
