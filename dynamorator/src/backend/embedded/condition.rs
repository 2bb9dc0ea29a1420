//! The embedded backends' rendering of a [`Require`]: evaluated against the stored item and
//! the end of its lease, which these backends keep beside their items. The DynamoDB backend
//! renders the same rule as a condition expression; the store's condition cases run both.

use crate::format::StoredItem;
use crate::format::condition::{Attr, Require};

/// Whether `require` holds of `item` (none: no item, or one that does not read) with a lease
/// until `lease_until` (epoch milliseconds; none: no lease).
pub(crate) fn holds(
    require: &Require,
    item: Option<&StoredItem>,
    lease_until: Option<i64>,
) -> bool {
    match require {
        Require::HoldsValue => item.is_some_and(|item| item.payload.is_value()),
        Require::IsPart => item.is_some_and(|item| !item.payload.is_value()),
        Require::Exists(attr) => value(*attr, item, lease_until).is_some(),
        Require::Compare {
            attr,
            op,
            value: right,
        } => value(*attr, item, lease_until).is_some_and(|left| op.holds(left, *right)),
        Require::Not(inner) => !holds(inner, item, lease_until),
        Require::All(all) => all.iter().all(|one| holds(one, item, lease_until)),
        Require::Any(any) => any.iter().any(|one| holds(one, item, lease_until)),
    }
}

/// The attribute's value, if the item (or its lease) has it.
fn value(attr: Attr, item: Option<&StoredItem>, lease_until: Option<i64>) -> Option<i128> {
    match attr {
        Attr::LeaseUntil => lease_until.map(i128::from),
        Attr::Ttl => item.map(|item| i128::from(item.expires_at)),
        Attr::CreatedAt => item.and_then(|item| item.created_at).map(i128::from),
        Attr::FreshUntil => item.and_then(|item| item.fresh_until).map(i128::from),
        Attr::Generation => item.and_then(|item| item.generation).map(i128::from),
        Attr::Version => item.and_then(|item| item.version).map(i128::from),
    }
}
