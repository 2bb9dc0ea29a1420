//! Raw DynamoDB attributes → value: the decoder every read path runs on stored data.
//!
//!     cargo fuzz run decode_item          (from the repository root; see fuzz/README.md)

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let _ = dynamorator_testkit::fuzz_input::decode(bytes);
});
