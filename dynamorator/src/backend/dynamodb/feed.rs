//! A change feed's items on DynamoDB: one `UpdateItem` appends to a string set under a
//! condition on the item's count (a second, unconditional one records an overflow), and one
//! strongly consistent `BatchGetItem` reads a poll's items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::attributes::key_attributes;
use super::errors::{from_build, from_sdk, is_condition_failure};
use super::{DynamoDbBackend, sdk_capacity};
use crate::Error;
use crate::format::attr;
use crate::format::feed::{Appended, FeedAppend, FeedItem};

/// Rounds of a feed read's unprocessed keys before the read fails (the poll is then missed,
/// and the cache empties its L1): each round is a request of the keys still unread.
const READ_ROUNDS: usize = 3;

impl DynamoDbBackend {
    pub(super) async fn append_to_feed(&self, append: &FeedAppend) -> Result<Appended, Error> {
        let added = append.entries.len() as u64;
        if added <= append.cap && self.append_entries(append).await? {
            return Ok(Appended::Entries);
        }
        // Full, or more than an item takes: record what did not fit.
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&append.key)))
            .update_expression("ADD #overflow :added SET #ttl = :ttl")
            .expression_attribute_names("#overflow", attr::FEED_OVERFLOW)
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":added", AttributeValue::N(added.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(append.expires_at.to_string()))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await
            .map_err(|error| from_sdk("UpdateItem", error))?;
        self.consumed("UpdateItem", sdk_capacity(&output.consumed_capacity));
        Ok(Appended::Overflowed)
    }

    /// Adds the entries if the item has room for them all; `Ok(false)` when it has not.
    async fn append_entries(&self, append: &FeedAppend) -> Result<bool, Error> {
        let added = append.entries.len() as u64;
        let room = append.cap.saturating_sub(added);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&append.key)))
            .update_expression("ADD #entries :entries, #count :added SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count <= :room")
            .expression_attribute_names("#entries", attr::FEED_ENTRIES)
            .expression_attribute_names("#count", attr::FEED_COUNT)
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":entries", AttributeValue::Ss(append.entries.clone()))
            .expression_attribute_values(":added", AttributeValue::N(added.to_string()))
            .expression_attribute_values(":room", AttributeValue::N(room.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(append.expires_at.to_string()))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await;
        match result {
            Ok(output) => {
                self.consumed("UpdateItem", sdk_capacity(&output.consumed_capacity));
                Ok(true)
            }
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(from_sdk("UpdateItem", error)),
        }
    }

    pub(super) async fn read_feed(&self, keys: &[String]) -> Result<Vec<FeedItem>, Error> {
        let mut items = Vec::with_capacity(keys.len());
        let mut unread: Vec<HashMap<String, AttributeValue>> =
            keys.iter().map(|key| key_attributes(key)).collect();
        for _ in 0..READ_ROUNDS {
            if unread.is_empty() {
                return Ok(items);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut unread)))
                .consistent_read(true)
                .build()
                .map_err(|error| from_build("BatchGetItem", error))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .set_return_consumed_capacity(self.capacity())
                .send()
                .await
                .map_err(|error| from_sdk("BatchGetItem", error))?;
            self.consumed("BatchGetItem", sdk_capacity(output.consumed_capacity()));
            let found = output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default();
            items.extend(found.iter().filter_map(feed_item));
            unread = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .map(|left| left.keys)
                .unwrap_or_default();
        }
        if unread.is_empty() {
            Ok(items)
        } else {
            Err(Error::Unprocessed {
                operation: "BatchGetItem",
                attempts: READ_ROUNDS as u32,
            })
        }
    }
}

/// A feed item from its attributes; one without a key is none. Attributes of the wrong type
/// read as absent, and entries that are not a string set as all missing (an overflow), so a
/// damaged item costs readers their L1, never a stale value.
fn feed_item(attributes: &HashMap<String, AttributeValue>) -> Option<FeedItem> {
    let AttributeValue::S(key) = attributes.get(attr::KEY)? else {
        return None;
    };
    let number = |name: &str| match attributes.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<u64>().unwrap_or(u64::MAX),
        _ => 0,
    };
    let (entries, unreadable) = match attributes.get(attr::FEED_ENTRIES) {
        Some(AttributeValue::Ss(entries)) => (entries.clone(), 0),
        None => (Vec::new(), 0),
        Some(_) => (Vec::new(), 1),
    };
    Some(FeedItem {
        key: key.clone(),
        entries,
        count: number(attr::FEED_COUNT),
        overflow: number(attr::FEED_OVERFLOW).saturating_add(unreadable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_feed_item_reads_as_overflowed() {
        let mut attributes = key_attributes("f");
        attributes.insert(attr::FEED_ENTRIES.into(), AttributeValue::S("a".into()));
        let item = feed_item(&attributes).unwrap();
        assert!(item.entries.is_empty());
        assert_eq!(item.overflow, 1);
        attributes.insert(
            attr::FEED_ENTRIES.into(),
            AttributeValue::Ss(vec!["a".into()]),
        );
        attributes.insert(attr::FEED_COUNT.into(), AttributeValue::N("1".into()));
        let item = feed_item(&attributes).unwrap();
        assert_eq!(
            (item.entries, item.count, item.overflow),
            (vec!["a".to_owned()], 1, 0)
        );
    }
}
