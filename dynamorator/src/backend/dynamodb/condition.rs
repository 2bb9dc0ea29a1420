//! DynamoDB's rendering of a [`Require`]: a condition expression with its attribute name and
//! value placeholders. The embedded backends evaluate the same rule in Rust; the store's
//! condition cases run both renderings on the same table of cases.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::format::attr;
use crate::format::condition::{Attr, Op, Require};

/// A rendered condition: the expression, and the placeholders it uses (DynamoDB refuses
/// unused ones). Every attribute goes through a `#name` placeholder, as `data`, `ttl` and
/// `version` are reserved words; values are `:c0`, `:c1`, ...
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Expression {
    pub(crate) text: String,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

/// Renders `require`.
pub(crate) fn render(require: &Require) -> Expression {
    let mut expression = Expression::default();
    let text = expression.part(require, false);
    expression.text = text;
    expression
}

impl Expression {
    /// `require`, or its negation when `negated`. A negation is pushed down to the leaves
    /// (`attribute_not_exists`, the opposite comparison, De Morgan for joints) instead of a
    /// `NOT` over a group: dynalite takes 40 to 50 ms to evaluate `NOT (… OR …)` against 9
    /// for the same rule written without it, which slowed every lease.
    fn part(&mut self, require: &Require, negated: bool) -> String {
        match require {
            Require::HoldsValue => {
                let (exists, joint) = match negated {
                    false => ("attribute_exists", " OR "),
                    true => ("attribute_not_exists", " AND "),
                };
                let forms: Vec<String> = attr::VALUE_FORMS
                    .iter()
                    .map(|name| format!("{exists}({})", self.name(name)))
                    .collect();
                format!("({})", forms.join(joint))
            }
            Require::IsPart => self.exists(attr::PART, negated),
            Require::Exists(attribute) => self.exists(name_of(*attribute), negated),
            // Guarded: DynamoDB takes a comparison with a missing attribute as false, moto as
            // true; with the guard both mean what the rule means.
            Require::Compare { attr, op, value } => {
                let name = self.name(name_of(*attr));
                let value = self.value(*value);
                match negated {
                    false => format!(
                        "(attribute_exists({name}) AND {name} {} {value})",
                        symbol(*op)
                    ),
                    true => format!(
                        "(attribute_not_exists({name}) OR {name} {} {value})",
                        opposite(*op)
                    ),
                }
            }
            Require::Not(inner) => self.part(inner, !negated),
            // An empty All is true and an empty Any false; negated, the other way round.
            Require::All(all) if all.is_empty() => self.constant(!negated),
            Require::Any(any) if any.is_empty() => self.constant(negated),
            Require::All(all) => self.join(all, if negated { " OR " } else { " AND " }, negated),
            Require::Any(any) => self.join(any, if negated { " AND " } else { " OR " }, negated),
        }
    }

    fn exists(&mut self, name: &str, negated: bool) -> String {
        let function = if negated {
            "attribute_not_exists"
        } else {
            "attribute_exists"
        };
        format!("{function}({})", self.name(name))
    }

    fn join(&mut self, parts: &[Require], with: &str, negated: bool) -> String {
        let parts: Vec<String> = parts.iter().map(|part| self.part(part, negated)).collect();
        format!("({})", parts.join(with))
    }

    /// True or false, as an expression (DynamoDB has no literals): on the key, which every
    /// item has.
    fn constant(&mut self, truth: bool) -> String {
        let key = self.name(attr::KEY);
        let joint = if truth { "OR" } else { "AND" };
        format!("(attribute_exists({key}) {joint} attribute_not_exists({key}))")
    }

    /// The placeholder of attribute `name` (`#` and the name: the format's names are letters
    /// and underscores).
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, value: i128) -> String {
        let placeholder = format!(":c{}", self.values.len());
        self.values
            .insert(placeholder.clone(), AttributeValue::N(value.to_string()));
        placeholder
    }
}

fn name_of(attribute: Attr) -> &'static str {
    match attribute {
        Attr::Ttl => attr::TTL,
        Attr::CreatedAt => attr::CREATED_AT,
        Attr::FreshUntil => attr::FRESH_UNTIL,
        Attr::Generation => attr::GENERATION,
        Attr::Version => attr::VERSION,
        Attr::LeaseUntil => attr::LEASE_UNTIL,
    }
}

/// The comparison that holds exactly when `op`'s does not (on a present attribute).
fn opposite(op: Op) -> &'static str {
    match op {
        Op::Le => ">",
        Op::Eq => "<>",
        Op::Ge => "<",
        Op::Gt => "<=",
    }
}

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Le => "<=",
        Op::Eq => "=",
        Op::Ge => ">=",
        Op::Gt => ">",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_and_value_goes_through_a_placeholder() {
        let older = Require::not(Require::compare(Attr::Version, Op::Ge, 7u64));
        let rendered = render(&older);
        assert_eq!(
            rendered.text,
            "(attribute_not_exists(#version) OR #version < :c0)"
        );
        assert_eq!(rendered.names["#version"], "version");
        assert_eq!(rendered.values[":c0"], AttributeValue::N("7".into()));
    }

    #[test]
    fn a_value_form_is_any_of_its_attributes_and_empty_joints_are_constants() {
        let rendered = render(&Require::All(vec![
            Require::HoldsValue,
            Require::Any(Vec::new()),
        ]));
        assert_eq!(
            rendered.text,
            "((attribute_exists(#data) OR attribute_exists(#zstd) OR attribute_exists(#parts)) \
             AND (attribute_exists(#cache_id) AND attribute_not_exists(#cache_id)))"
        );
        assert_eq!(rendered.names.len(), 4);
        assert!(rendered.values.is_empty());
    }

    #[test]
    fn a_negation_reaches_the_leaves() {
        let rule = Require::not(Require::All(vec![
            Require::HoldsValue,
            Require::compare(Attr::LeaseUntil, Op::Gt, 5u64),
            Require::not(Require::Exists(Attr::Generation)),
            Require::Any(Vec::new()),
        ]));
        let rendered = render(&rule);
        assert_eq!(
            rendered.text,
            "((attribute_not_exists(#data) AND attribute_not_exists(#zstd) AND \
             attribute_not_exists(#parts)) OR (attribute_not_exists(#lease_until) OR \
             #lease_until <= :c0) OR attribute_exists(#generation) OR \
             (attribute_exists(#cache_id) OR attribute_not_exists(#cache_id)))"
        );
        assert!(!rendered.text.contains("NOT "), "no NOT over a group");
    }

    #[test]
    fn numbers_past_i64_keep_every_digit() {
        let rendered = render(&Require::compare(Attr::Version, Op::Le, u64::MAX));
        assert_eq!(
            rendered.values[":c0"],
            AttributeValue::N(u64::MAX.to_string())
        );
    }
}
