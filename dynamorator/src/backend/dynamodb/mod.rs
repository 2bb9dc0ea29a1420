//! The DynamoDB backend: one table, through the AWS SDK's shared client.

mod attributes;
mod batch_get_request;
mod body_tap;
mod condition;
mod errors;
mod feed;
mod item_fields;
mod response_json;
mod table;

pub(crate) use table::ensure_table;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, DeleteRequest, KeysAndAttributes, PutRequest,
    ReturnConsumedCapacity, ReturnValue, WriteRequest,
};

use super::{
    Backend, BatchGetPage, BoxFuture, ItemPage, LeaseRequest, ScanPage, ScanSegment, WriteOp,
};
use crate::Error;
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};
use crate::format::{StoredItem, attr};
use crate::observe::store;
use attributes::{Attributes, key_attributes, to_attributes};
use batch_get_request::{BatchGetRequest, ReplaceRequestBody};
use body_tap::BodyTap;
use condition::render;
use errors::{from_build, from_sdk, from_serialize, is_condition_failure, unreadable_body};
use item_fields::ItemFields;
use response_json::{ResponseBody, UnreadableBody};

/// A table in DynamoDB (or a server that speaks its protocol).
#[derive(Debug, Clone)]
pub(crate) struct DynamoDbBackend {
    client: Client,
    table: String,
    consistent_reads: bool,
    /// `ReturnConsumedCapacity: TOTAL` on item requests, recorded by `observe::store`.
    consumed_capacity: bool,
}

impl DynamoDbBackend {
    pub(crate) fn new(client: Client, table: String, consistent_reads: bool) -> Self {
        DynamoDbBackend {
            client,
            table,
            consistent_reads,
            consumed_capacity: false,
        }
    }

    /// Asks DynamoDB for the capacity each item request consumed, and records it.
    pub(crate) fn with_consumed_capacity(mut self, enabled: bool) -> Self {
        self.consumed_capacity = enabled;
        self
    }

    /// What to ask for in `ReturnConsumedCapacity`: nothing unless turned on.
    fn capacity(&self) -> Option<ReturnConsumedCapacity> {
        self.consumed_capacity
            .then_some(ReturnConsumedCapacity::Total)
    }

    /// Records what a request consumed on this table, if DynamoDB said: (table, units) pairs,
    /// an entry without a table being this one's.
    fn consumed<'c>(
        &self,
        operation: &'static str,
        capacity: impl IntoIterator<Item = (Option<&'c str>, Option<f64>)>,
    ) {
        let units: Option<f64> = capacity
            .into_iter()
            .filter(|(table, _)| table.is_none_or(|table| table == self.table))
            .filter_map(|(_, units)| units)
            .reduce(|a, b| a + b);
        if let Some(units) = units {
            store::consumed(operation, &self.table, units);
        }
    }

    /// Records the capacity a parsed read response reports.
    fn consumed_by_read(&self, operation: &'static str, response: &ResponseBody<'_>) {
        let capacity = response.consumed.iter();
        self.consumed(operation, capacity.map(|c| (c.table.as_deref(), c.units)));
    }

    /// The body a read's tap took, parsed.
    fn parse<'b>(
        &self,
        operation: &'static str,
        body: &'b Option<bytes::Bytes>,
    ) -> Result<ResponseBody<'b>, Error> {
        parse_body(operation, body.as_deref(), &self.table)
    }

    async fn get_item(&self, key: &str) -> Result<Option<StoredItem>, Error> {
        let tap = BodyTap::default();
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(self.consistent_reads)
            .set_return_consumed_capacity(self.capacity())
            .customize()
            .interceptor(tap.clone())
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        let body = tap.take();
        let response = self.parse("GetItem", &body)?;
        self.consumed_by_read("GetItem", &response);
        match response.item {
            Some(item) => item.into_item().map_err(|unreadable| unreadable.1),
            None => Ok(None),
        }
    }

    /// A put; with `old`, it returns the item it replaced (`ReturnValues: ALL_OLD`: no extra
    /// capacity, only the item's bytes in the answer).
    async fn put_item(&self, item: StoredItem, old: bool) -> Result<Option<StoredItem>, Error> {
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)))
            .set_return_values(old.then_some(ReturnValue::AllOld))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        self.consumed("PutItem", sdk_capacity(&output.consumed_capacity));
        Ok(replaced(output.attributes))
    }

    /// A delete; with `old`, it returns the item it removed, as [`put_item`] does.
    ///
    /// [`put_item`]: DynamoDbBackend::put_item
    async fn delete_item(&self, key: &str, old: bool) -> Result<Option<StoredItem>, Error> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_return_values(old.then_some(ReturnValue::AllOld))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem", e))?;
        self.consumed("DeleteItem", sdk_capacity(&output.consumed_capacity));
        Ok(replaced(output.attributes))
    }

    async fn batch_get_items(&self, keys: &[String]) -> Result<BatchGetPage, Error> {
        let capacity = self.capacity();
        let body = BatchGetRequest {
            table: &self.table,
            keys,
            consistent_read: self.consistent_reads,
            return_consumed_capacity: capacity.as_ref().map(ReturnConsumedCapacity::as_str),
        }
        .body()
        .map_err(|e| from_serialize("BatchGetItem", e))?;
        // The SDK is given the table without its keys: the body is the library's (see
        // `batch_get_request`); the rest of the input is what the body says too.
        let no_keys = KeysAndAttributes::builder()
            .set_keys(Some(Vec::new()))
            .consistent_read(self.consistent_reads)
            .build()
            .map_err(|e| from_build("BatchGetItem", e))?;
        let tap = BodyTap::default();
        self.client
            .batch_get_item()
            .request_items(&self.table, no_keys)
            .set_return_consumed_capacity(capacity)
            .customize()
            .interceptor(ReplaceRequestBody::new(body))
            .interceptor(tap.clone())
            .send()
            .await
            .map_err(|e| from_sdk("BatchGetItem", e))?;
        let body = tap.take();
        let response = self.parse("BatchGetItem", &body)?;
        self.consumed_by_read("BatchGetItem", &response);
        let items = response
            .items
            .into_iter()
            .map(ItemFields::into_item)
            .filter_map(Result::transpose)
            .collect();
        let unprocessed = response
            .unprocessed_keys
            .into_iter()
            .filter_map(ItemFields::into_key)
            .collect();
        Ok(BatchGetPage { items, unprocessed })
    }

    async fn batch_write_items(&self, writes: Vec<WriteOp>) -> Result<Vec<WriteOp>, Error> {
        let requests = writes
            .iter()
            .map(|write| write_request(write.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .batch_write_item()
            .request_items(&self.table, requests)
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await
            .map_err(|e| from_sdk("BatchWriteItem", e))?;
        self.consumed(
            "BatchWriteItem",
            sdk_capacity(output.consumed_capacity.iter().flatten()),
        );
        let unprocessed_keys: Vec<String> = output
            .unprocessed_items
            .and_then(|mut tables| tables.remove(&self.table))
            .unwrap_or_default()
            .iter()
            .filter_map(written_key)
            .collect();
        if unprocessed_keys.is_empty() {
            return Ok(Vec::new());
        }
        // Hand back the caller's own writes for the keys DynamoDB did not get to.
        let mut by_key: HashMap<String, WriteOp> = writes
            .into_iter()
            .map(|write| (write.key().to_owned(), write))
            .collect();
        Ok(unprocessed_keys
            .iter()
            .filter_map(|key| by_key.remove(key))
            .collect())
    }

    async fn scan(&self, limit: u32, start: Option<&str>) -> Result<ScanPage, Error> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        // Items without a value (leases on keys not loaded yet, parts of split values) are not
        // keys of the cache.
        let mut filter = render(&Require::HoldsValue);
        // `ttl` is a DynamoDB reserved word, hence the placeholder.
        filter
            .names
            .insert(format!("#{}", attr::TTL), attr::TTL.to_owned());
        let tap = BodyTap::default();
        self.client
            .scan()
            .table_name(&self.table)
            .projection_expression(format!("{}, #{}", attr::KEY, attr::TTL))
            .filter_expression(filter.text)
            .set_expression_attribute_names(some(filter.names))
            .limit(limit)
            .set_exclusive_start_key(start.map(key_attributes))
            .set_return_consumed_capacity(self.capacity())
            .customize()
            .interceptor(tap.clone())
            .send()
            .await
            .map_err(|e| from_sdk("Scan", e))?;
        let body = tap.take();
        let response = self.parse("Scan", &body)?;
        self.consumed_by_read("Scan", &response);
        let keys = response
            .items
            .into_iter()
            .filter_map(|item| {
                let expiry = item.expiry();
                item.into_key().map(|key| (key, expiry))
            })
            .collect();
        let last_key = response.last_evaluated_key.and_then(ItemFields::into_key);
        Ok(ScanPage { keys, last_key })
    }

    /// One page of whole items of a scan segment; DynamoDB splits the table itself
    /// (`Segment`/`TotalSegments`), so segments read in parallel never overlap.
    async fn scan_whole_items(
        &self,
        segment: ScanSegment,
        limit: u32,
        start: Option<&str>,
    ) -> Result<ItemPage, Error> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let parallel = segment.total > 1;
        let as_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let tap = BodyTap::default();
        self.client
            .scan()
            .table_name(&self.table)
            .limit(limit)
            .consistent_read(self.consistent_reads)
            .set_segment(parallel.then(|| as_i32(segment.index)))
            .set_total_segments(parallel.then(|| as_i32(segment.total)))
            .set_exclusive_start_key(start.map(key_attributes))
            .customize()
            .interceptor(tap.clone())
            .send()
            .await
            .map_err(|e| from_sdk("Scan", e))?;
        let body = tap.take();
        let response = self.parse("Scan", &body)?;
        // Items without a value (leases on keys not loaded yet) are not values to report.
        let items = response
            .items
            .into_iter()
            .map(ItemFields::into_item)
            .filter_map(Result::transpose)
            .collect();
        let last_key = response.last_evaluated_key.and_then(ItemFields::into_key);
        Ok(ItemPage { items, last_key })
    }
}

// Conditional writes: the rule comes rendered (`condition.rs`); DynamoDB reserves `data`,
// `ttl` and `version` as words, so every attribute goes through a placeholder.
impl DynamoDbBackend {
    async fn put_item_if(&self, item: StoredItem, require: Require) -> Result<bool, Error> {
        let condition = render(&require);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)))
            .condition_expression(condition.text)
            .set_expression_attribute_names(some(condition.names))
            .set_expression_attribute_values(some(condition.values))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await;
        match result {
            Ok(output) => {
                self.consumed("PutItem", sdk_capacity(&output.consumed_capacity));
                Ok(true)
            }
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(from_sdk("PutItem", error)),
        }
    }

    async fn update_lease(&self, lease: LeaseRequest<'_>, require: Require) -> Result<bool, Error> {
        let mut condition = render(&require);
        // The update's own placeholders: the names are the renderer's (`#` and the name), so
        // one the condition uses too is the same entry.
        for name in [attr::LEASE_UNTIL, attr::LEASE_OWNER, attr::TTL] {
            condition.names.insert(format!("#{name}"), name.to_owned());
        }
        let values = [
            (":until", AttributeValue::N(lease.until_ms.to_string())),
            (":owner", AttributeValue::S(lease.owner.to_owned())),
            (":expires", AttributeValue::N(lease.expires_at.to_string())),
        ];
        for (placeholder, value) in values {
            condition.values.insert(placeholder.to_owned(), value);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(lease.key)))
            .update_expression(format!(
                "SET #{until} = :until, #{owner} = :owner, #{ttl} = if_not_exists(#{ttl}, :expires)",
                until = attr::LEASE_UNTIL,
                owner = attr::LEASE_OWNER,
                ttl = attr::TTL,
            ))
            .condition_expression(condition.text)
            .set_expression_attribute_names(some(condition.names))
            .set_expression_attribute_values(some(condition.values))
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

    async fn end_lease(&self, key: &str, owner: &str) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression("REMOVE #until, #owner")
            .condition_expression("#owner = :owner")
            .set_return_consumed_capacity(self.capacity())
            .expression_attribute_names("#until", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::LEASE_OWNER)
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match result {
            // Not ours any more (it expired and another took it, or a value replaced it).
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(from_sdk("UpdateItem", error)),
            Ok(output) => {
                self.consumed("UpdateItem", sdk_capacity(&output.consumed_capacity));
                Ok(())
            }
        }
    }
}

/// Changing an item's expiry in place: one UpdateItem.
impl DynamoDbBackend {
    /// Sets `ttl` on the item under `key` if it meets `require`. With `learn_parts`, the answer
    /// carries the item as it now is (`ALL_NEW`: no extra capacity, its bytes in the answer),
    /// so a split value's head names its parts; `None` when the condition failed.
    async fn update_expiry(
        &self,
        key: &str,
        expires_at: i64,
        require: Require,
        learn_parts: bool,
    ) -> Result<Option<Vec<String>>, Error> {
        let mut condition = render(&require);
        condition
            .names
            .insert(format!("#{}", attr::TTL), attr::TTL.to_owned());
        condition
            .values
            .insert(":ttl".to_owned(), AttributeValue::N(expires_at.to_string()));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(format!("SET #{} = :ttl", attr::TTL))
            .condition_expression(condition.text)
            .set_expression_attribute_names(some(condition.names))
            .set_expression_attribute_values(some(condition.values))
            .set_return_values(learn_parts.then_some(ReturnValue::AllNew))
            .set_return_consumed_capacity(self.capacity())
            .send()
            .await;
        match result {
            Ok(output) => {
                self.consumed("UpdateItem", sdk_capacity(&output.consumed_capacity));
                let parts = match replaced(output.attributes).map(|item| item.payload) {
                    Some(crate::format::Payload::Head(head)) => {
                        head.part_keys(key).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                Ok(Some(parts))
            }
            Err(error) if is_condition_failure(&error) => Ok(None),
            Err(error) => Err(from_sdk("UpdateItem", error)),
        }
    }
}

/// Placeholders to send: none rather than an empty map, which DynamoDB refuses.
fn some<V>(placeholders: HashMap<String, V>) -> Option<HashMap<String, V>> {
    (!placeholders.is_empty()).then_some(placeholders)
}

/// The item a write replaced, from its `ALL_OLD` answer; one that does not read is none (its
/// parts, if it had any, are left to their TTL).
fn replaced(attributes: Option<Attributes>) -> Option<StoredItem> {
    attributes
        .filter(|attributes| !attributes.is_empty())
        .and_then(|attributes| ItemFields::from_sdk(attributes).into_item().ok().flatten())
}

/// A read response's body parsed for `table`; a body that is missing or unreadable is an
/// error the caller sees, never a miss.
pub(crate) fn parse_body<'b>(
    operation: &'static str,
    body: Option<&'b [u8]>,
    table: &str,
) -> Result<ResponseBody<'b>, Error> {
    let body = body.ok_or_else(|| unreadable_body(operation, UnreadableBody::missing()))?;
    response_json::parse(body, table).map_err(|e| unreadable_body(operation, e))
}

/// The SDK's capacity entries as (table, units) pairs.
fn sdk_capacity<'c>(
    capacity: impl IntoIterator<Item = &'c ConsumedCapacity>,
) -> impl Iterator<Item = (Option<&'c str>, Option<f64>)> {
    capacity
        .into_iter()
        .map(|c| (c.table_name(), c.capacity_units()))
}

fn write_request(write: WriteOp) -> Result<WriteRequest, Error> {
    Ok(match write {
        WriteOp::Put(item) => WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(to_attributes(item)))
                    .build()
                    .map_err(|e| from_build("BatchWriteItem", e))?,
            )
            .build(),
        WriteOp::Delete(key) => WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key_attributes(&key)))
                    .build()
                    .map_err(|e| from_build("BatchWriteItem", e))?,
            )
            .build(),
    })
}

fn written_key(request: &WriteRequest) -> Option<String> {
    let attributes = match (&request.put_request, &request.delete_request) {
        (Some(put), _) => &put.item,
        (None, Some(delete)) => &delete.key,
        (None, None) => return None,
    };
    match attributes.get(attr::KEY) {
        Some(AttributeValue::S(key)) => Some(key.clone()),
        _ => None,
    }
}

impl Backend for DynamoDbBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        Box::pin(self.get_item(key))
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move { self.put_item(item, false).await.map(|_| ()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { self.delete_item(key, false).await.map(|_| ()) })
    }

    fn put_replacing(&self, item: StoredItem) -> BoxFuture<'_, Result<Option<StoredItem>, Error>> {
        Box::pin(self.put_item(item, true))
    }

    fn delete_replacing<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        Box::pin(self.delete_item(key, true))
    }

    fn set_expiry<'a>(
        &'a self,
        key: &'a str,
        expires_at: i64,
        require: Require,
        learn_parts: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, Error>> {
        Box::pin(self.update_expiry(key, expires_at, require, learn_parts))
    }

    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>> {
        Box::pin(self.batch_get_items(keys))
    }

    fn batch_write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<Vec<WriteOp>, Error>> {
        Box::pin(self.batch_write_items(writes))
    }

    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>> {
        Box::pin(self.scan(limit, start))
    }

    fn put_if(&self, item: StoredItem, require: Require) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.put_item_if(item, require))
    }

    fn acquire_lease<'a>(
        &'a self,
        lease: LeaseRequest<'a>,
        require: Require,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.update_lease(lease, require))
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.end_lease(key, owner))
    }

    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        let whole_table = ScanSegment { index: 0, total: 1 };
        Box::pin(self.scan_whole_items(whole_table, limit, start))
    }

    fn scan_segment<'a>(
        &'a self,
        segment: ScanSegment,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        Box::pin(self.scan_whole_items(segment, limit, start))
    }

    fn feed_append<'a>(&'a self, append: &'a FeedAppend) -> BoxFuture<'a, Result<Appended, Error>> {
        Box::pin(self.append_to_feed(append))
    }

    fn feed_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<FeedItem>, Error>> {
        Box::pin(self.read_feed(keys))
    }
}
