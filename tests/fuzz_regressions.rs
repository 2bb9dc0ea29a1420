//! Replays the inputs the item-decoder fuzzer found interesting (tests/fuzz_regressions/, the
//! edge-minimal set of a 12-minute run): each must decode to a value or to one of the errors a
//! decoder may give, never a panic, and together they must still reach every way an item can
//! be corrupt.

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
