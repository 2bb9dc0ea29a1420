//! What a conditional write requires of the item it would replace, as plain data: a small
//! language over the item's numeric attributes, whether it holds a value, and its lease. The
//! store builds a rule once (a lease, an ordered write, a counter's compare-and-set); each
//! backend renders it: DynamoDB as a condition expression, the embedded backends by evaluating
//! it against the stored item and its lease. Neither decides anything of its own.
//!
//! The meaning both renderings keep:
//! - a comparison with an absent attribute (or no item) is false, as on DynamoDB; the DynamoDB
//!   rendering guards every comparison with `attribute_exists`, so the meaning does not rest
//!   on how a server compares a missing attribute (an earlier note found moto taking it as
//!   true; moto 5.2.5 passes the cases either way);
//! - the value attributes are the stored item's; on DynamoDB a bare lease item (no value) has
//!   a `ttl` of its own, which the embedded backends, keeping leases beside their items, do not
//!   have: a rule asks [`Require::HoldsValue`] before it compares a value's `ttl`.

/// A numeric attribute a condition may compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    /// `ttl`: epoch seconds.
    Ttl,
    /// `created_at`: epoch seconds.
    CreatedAt,
    /// `fresh_until`: epoch seconds.
    FreshUntil,
    Generation,
    Version,
    /// The end of the item's lease, epoch milliseconds.
    LeaseUntil,
}

/// A comparison of an attribute (left) with a value (right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    /// Whether `left op right`.
    pub(crate) fn holds(self, left: i128, right: i128) -> bool {
        match self {
            Op::Le => left <= right,
            Op::Eq => left == right,
            Op::Ge => left >= right,
            Op::Gt => left > right,
        }
    }
}

/// A condition on the stored item under the key written. Numbers are `i128` because the
/// attributes hold both `i64` times and `u64` versions and generations, and every one of them
/// fits, so no comparison is cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Require {
    /// There is an item and it holds a value, whole or split (not a bare lease, not a part).
    HoldsValue,
    /// There is an item and it is a part of a split value.
    IsPart,
    /// There is an item and it has this attribute.
    Exists(Attr),
    /// There is an item, it has `attr`, and `attr op value`.
    Compare {
        attr: Attr,
        op: Op,
        value: i128,
    },
    Not(Box<Require>),
    /// Every one holds (none: true).
    All(Vec<Require>),
    /// At least one holds (none: false).
    Any(Vec<Require>),
}

impl Require {
    pub(crate) fn compare(attr: Attr, op: Op, value: impl Into<i128>) -> Require {
        Require::Compare {
            attr,
            op,
            value: value.into(),
        }
    }

    // Not `std::ops::Not`: a rule reads as words, `Require::not(..)`.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn not(require: Require) -> Require {
        Require::Not(Box::new(require))
    }
}
