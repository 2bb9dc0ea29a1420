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
    let text = expression.part(require);
    expression.text = text;
    expression
}

impl Expression {
    fn part(&mut self, require: &Require) -> String {
        match require {
            Require::HoldsValue => {
                let exists: Vec<String> = attr::VALUE_FORMS
                    .iter()
                    .map(|name| format!("attribute_exists({})", self.name(name)))
                    .collect();
                format!("({})", exists.join(" OR "))
            }
            Require::IsPart => format!("attribute_exists({})", self.name(attr::PART)),
            Require::Exists(attribute) => {
                format!("attribute_exists({})", self.name(name_of(*attribute)))
            }
            // Guarded: DynamoDB takes a comparison with a missing attribute as false, moto as
            // true; with the guard both mean what the rule means.
            Require::Compare { attr, op, value } => {
                let name = self.name(name_of(*attr));
                let value = self.value(*value);
                format!(
                    "(attribute_exists({name}) AND {name} {} {value})",
                    symbol(*op)
                )
            }
            Require::Not(inner) => format!("(NOT {})", self.part(inner)),
            Require::All(all) if all.is_empty() => self.constant(true),
            Require::Any(any) if any.is_empty() => self.constant(false),
            Require::All(all) => self.join(all, " AND "),
            Require::Any(any) => self.join(any, " OR "),
        }
    }

    fn join(&mut self, parts: &[Require], with: &str) -> String {
        let parts: Vec<String> = parts.iter().map(|part| self.part(part)).collect();
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
            "(NOT (attribute_exists(#version) AND #version >= :c0))"
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
    fn numbers_past_i64_keep_every_digit() {
        let rendered = render(&Require::compare(Attr::Version, Op::Le, u64::MAX));
        assert_eq!(
            rendered.values[":c0"],
            AttributeValue::N(u64::MAX.to_string())
        );
    }
}
