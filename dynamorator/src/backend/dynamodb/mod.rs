//! The DynamoDB backend: one table, through the AWS SDK's shared client.

mod attributes;
mod errors;
mod table;

#[cfg(feature = "__bench-hooks")]
pub(crate) use attributes::from_attributes as item_from_attributes;
pub(crate) use table::ensure_table;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest,
};

use super::item::{StoredItem, attr};
use super::{Backend, BatchGetPage, BoxFuture, ItemPage, ScanPage, ScanSegment, WriteOp};
use crate::Error;
use attributes::{expiry_of, from_attributes, key_attributes, key_of, to_attributes};
use errors::{from_build, from_sdk};

/// A table in DynamoDB (or a server that speaks its protocol).
#[derive(Debug, Clone)]
pub(crate) struct DynamoDbBackend {
    client: Client,
    table: String,
    consistent_reads: bool,
}

impl DynamoDbBackend {
    pub(crate) fn new(client: Client, table: String, consistent_reads: bool) -> Self {
        DynamoDbBackend {
            client,
            table,
            consistent_reads,
        }
    }

    async fn get_item(&self, key: &str) -> Result<Option<StoredItem>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(self.consistent_reads)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        output
            .item
            .map(from_attributes)
            .transpose()
            .map_err(|unreadable| unreadable.1)
    }

    async fn put_item(&self, item: StoredItem) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)))
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    async fn delete_item(&self, key: &str) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem", e))?;
        Ok(())
    }

    async fn batch_get_items(&self, keys: &[String]) -> Result<BatchGetPage, Error> {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(|k| key_attributes(k)).collect()))
            .consistent_read(self.consistent_reads)
            .build()
            .map_err(|e| from_build("BatchGetItem", e))?;
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(|e| from_sdk("BatchGetItem", e))?;
        let items = output
            .responses
            .and_then(|mut tables| tables.remove(&self.table))
            .unwrap_or_default()
            .into_iter()
            .map(from_attributes)
            .collect();
        let unprocessed = output
            .unprocessed_keys
            .and_then(|mut tables| tables.remove(&self.table))
            .map(|request| {
                request
                    .keys
                    .iter()
                    .filter_map(|k| key_of(k).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
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
            .send()
            .await
            .map_err(|e| from_sdk("BatchWriteItem", e))?;
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
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            // `ttl` is a DynamoDB reserved word, hence the placeholder.
            .projection_expression(format!("{}, #ttl", attr::KEY))
            .expression_attribute_names("#ttl", attr::TTL)
            .limit(limit)
            .set_exclusive_start_key(start.map(key_attributes))
            .send()
            .await
            .map_err(|e| from_sdk("Scan", e))?;
        let keys = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| key_of(item).map(|key| (key.to_owned(), expiry_of(item))))
            .collect();
        let last_key = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| key_of(key).map(str::to_owned));
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
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(limit)
            .consistent_read(self.consistent_reads)
            .set_segment(parallel.then(|| as_i32(segment.index)))
            .set_total_segments(parallel.then(|| as_i32(segment.total)))
            .set_exclusive_start_key(start.map(key_attributes))
            .send()
            .await
            .map_err(|e| from_sdk("Scan", e))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attributes)
            .collect();
        let last_key = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| key_of(key).map(str::to_owned));
        Ok(ItemPage { items, last_key })
    }
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
        Box::pin(self.put_item(item))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.delete_item(key))
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
}
