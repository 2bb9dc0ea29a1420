//! serde_json's errors, sorted and made safe to log.

use crate::Error;
use crate::error::CorruptReason;

/// Sorts a serde_json error into corrupt text (syntax, EOF, bad UTF-8) or a type mismatch, with
/// quoted payload fragments removed so the error can be logged.
pub(crate) fn json_error<T>(key: &str, error: &serde_json::Error) -> Error {
    let detail = redact_quoted(&error.to_string());
    match error.classify() {
        serde_json::error::Category::Data => Error::TypeMismatch {
            key: key.to_owned(),
            type_name: std::any::type_name::<T>(),
            detail,
        },
        _ => Error::corrupt(key, CorruptReason::Json(detail)),
    }
}

/// Replaces the contents of double-quoted strings in a serde message (`invalid type: string
/// "4111-1111", expected u64`) so stored values never reach logs; field names, which serde
/// quotes with backticks and which come from the Rust type, stay.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…");
            }
            if inside {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_field_names() {
        assert_eq!(
            redact_quoted("missing field `price`"),
            "missing field `price`"
        );
        assert_eq!(
            redact_quoted(r#"invalid type: string "secret", expected u64"#),
            "invalid type: string \"…\", expected u64"
        );
    }
}
