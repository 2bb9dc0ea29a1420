//! Replays the inputs the fuzzers found interesting: the item decoder's (tests/fuzz_regressions/,
//! the edge-minimal set of the runs so far: 12 minutes, then 7 with zstd items and 10 with split
//! values), each of which must decode to a value or to one of the errors a decoder may give,
//! never a panic, and which together must still reach every way an item can be corrupt; and the
//! response parser's (tests/fuzz_regressions_response/), each of which must parse or be an
//! unreadable response, its items read or corrupt, never a panic.

use std::collections::BTreeSet;
use std::path::Path;

use dynamorator::{CorruptReason, Error};

/// A short name for the kind of outcome, to check the set still covers every decoder path.
fn kind<T>(outcome: &Result<T, Error>) -> String {
    match outcome {
        Ok(_) => "ok".to_owned(),
        Err(Error::Corrupt { reason, .. }) => {
            let name = match reason {
                CorruptReason::MissingAttribute(_) => "missing attribute",
                CorruptReason::WrongType { .. } => "wrong type",
                CorruptReason::BadNumber(_) => "bad number",
                CorruptReason::Base64 => "base64",
                CorruptReason::Gzip(_) => "gzip",
                CorruptReason::TooLarge { .. } => "too large",
                CorruptReason::Json(_) => "json",
                CorruptReason::Zstd(_) => "zstd",
                CorruptReason::Ambiguous(..) => "ambiguous",
                CorruptReason::Split(_) => "split",
                CorruptReason::BadForm(_) => "bad form",
                _ => "other corrupt reason",
            };
            format!("corrupt: {name}")
        }
        Err(Error::TypeMismatch { .. }) => "type mismatch".to_owned(),
        Err(other) => panic!("a decoder cannot fail with {other:?}"),
    }
}

#[test]
fn every_kept_fuzz_input_decodes_to_a_value_or_a_decoder_error() -> std::io::Result<()> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(&folder)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        if let Some(decoded) = dynamorator_testkit::fuzz_input::decode(&bytes) {
            kinds.insert(kind(&decoded.as_json));
            kinds.insert(kind(&decoded.as_typed));
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no inputs in {}", folder.display());
    let expected = [
        "ok",
        "corrupt: missing attribute",
        "corrupt: wrong type",
        "corrupt: bad number",
        "corrupt: base64",
        "corrupt: gzip",
        "corrupt: too large",
        "corrupt: json",
        "corrupt: zstd",
        "corrupt: ambiguous",
        "corrupt: split",
        "corrupt: bad form",
        "type mismatch",
    ];
    for wanted in expected {
        assert!(
            kinds.contains(wanted),
            "no kept input gives {wanted:?}; got {kinds:?}"
        );
    }
    Ok(())
}

/// A short name for what parsing one response body gave, for the coverage check.
fn response_kinds(outcome: &Result<dynamorator::__bench::ParsedBody, Error>) -> Vec<String> {
    let body = match outcome {
        Ok(body) => body,
        Err(Error::Unreachable { .. }) => return vec!["unreadable body".to_owned()],
        Err(other) => panic!("a body cannot fail to parse with {other:?}"),
    };
    let mut kinds = vec!["parsed".to_owned()];
    for item in body.item.iter().chain(&body.items) {
        kinds.push(match item {
            Ok(Some(_)) => "item".to_owned(),
            Ok(None) => "item without data".to_owned(),
            Err(error) => format!("item {}", kind::<()>(&Err(error.clone()))),
        });
    }
    if body.unprocessed_keys.iter().any(Option::is_some) {
        kinds.push("unprocessed key".to_owned());
    }
    if body.last_evaluated_key.is_some() {
        kinds.push("last evaluated key".to_owned());
    }
    kinds
}

#[test]
fn every_kept_response_input_parses_or_is_an_unreadable_body() -> std::io::Result<()> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions_response");
    let mut replayed = 0;
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(&folder)? {
        let bytes = std::fs::read(entry?.path())?;
        kinds.extend(response_kinds(
            &dynamorator_testkit::fuzz_input::parse_response(&bytes),
        ));
        replayed += 1;
    }
    assert!(replayed > 0, "no inputs in {}", folder.display());
    let expected = [
        "parsed",
        "unreadable body",
        "item",
        "item without data",
        "item corrupt: missing attribute",
        "item corrupt: wrong type",
        "item corrupt: bad number",
        "unprocessed key",
        "last evaluated key",
    ];
    for wanted in expected {
        assert!(
            kinds.contains(wanted),
            "no kept input gives {wanted:?}; got {kinds:?}"
        );
    }
    Ok(())
}
