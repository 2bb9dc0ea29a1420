//! Table set-up at build time: create the table when missing, wait until it is ACTIVE, turn on
//! TTL. Safe against another process doing the same at the same moment, and against servers
//! without the TTL API.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use futures_util::future::join;
use tokio::time::{Instant, sleep};

use super::errors::{from_build, from_sdk};
use crate::Error;
use crate::format::attr;

/// How often to ask whether a new table is ACTIVE: quick enough for local servers, a handful
/// of calls for the seconds real DynamoDB takes.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Makes sure `table` exists in the table format, is ACTIVE, and has TTL on `ttl` where the
/// server supports it. For a table that is there and ACTIVE, as at every start but the first,
/// this is one round trip: its DescribeTable and the TTL check go out together, and an ACTIVE
/// status needs no wait.
pub(crate) async fn ensure_table(
    client: &Client,
    table: &str,
    wait_limit: Duration,
) -> Result<(), Error> {
    let setup_error = |reason: String, source: Option<Error>| Error::TableSetup {
        table: table.to_owned(),
        reason,
        source: source.map(Box::new),
    };
    // The TTL answer only matters for a table that was there; for a missing one it is an
    // error, ignored.
    let (status, ttl_on) = join(describe_status(client, table), ttl_status(client, table)).await;
    let (created, active) = match status {
        Ok(Some(status)) => (false, status == TableStatus::Active),
        Ok(None) => {
            let created = create_table(client, table)
                .await
                .map_err(|e| setup_error("CreateTable failed".to_owned(), Some(e)))?;
            (created, false)
        }
        // No credentials: a setting to make, said as it is.
        Err(error @ Error::InvalidConfig { .. }) => return Err(error),
        Err(error) => {
            return Err(setup_error("DescribeTable failed".to_owned(), Some(error)));
        }
    };
    if !active {
        wait_until_active(client, table, wait_limit)
            .await
            .map_err(|(reason, source)| setup_error(reason, source))?;
    }
    if created {
        enable_ttl(client, table).await;
        tracing::info!(table, "dynamorator: table ready");
    } else if ttl_on.is_ok_and(|on| !on) {
        // Changing another owner's table is not ours to do: say so and go on.
        tracing::warn!(
            table,
            "dynamorator: TTL is not enabled on attribute `ttl`; expired items stay in the table \
             (reads still treat them as misses)"
        );
    }
    Ok(())
}

/// The table's status, or `None` when it does not exist.
async fn describe_status(client: &Client, table: &str) -> Result<Option<TableStatus>, Error> {
    match client.describe_table().table_name(table).send().await {
        Ok(output) => Ok(Some(
            output
                .table
                .and_then(|t| t.table_status)
                .unwrap_or(TableStatus::Creating),
        )),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(from_sdk("DescribeTable", error)),
    }
}

/// Creates the table; returns whether this call created it (false when another process won
/// the race, which is fine).
async fn create_table(client: &Client, table: &str) -> Result<bool, Error> {
    tracing::info!(table, "dynamorator: creating table");
    let key = KeySchemaElement::builder()
        .attribute_name(attr::KEY)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| from_build("CreateTable", e))?;
    let definition = AttributeDefinition::builder()
        .attribute_name(attr::KEY)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| from_build("CreateTable", e))?;
    match client
        .create_table()
        .table_name(table)
        .key_schema(key)
        .attribute_definitions(definition)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            tracing::info!(table, "dynamorator: table created by another process");
            Ok(false)
        }
        Err(error) => Err(from_sdk("CreateTable", error)),
    }
}

async fn wait_until_active(
    client: &Client,
    table: &str,
    limit: Duration,
) -> Result<(), (String, Option<Error>)> {
    let deadline = Instant::now() + limit;
    loop {
        match describe_status(client, table).await {
            Ok(Some(TableStatus::Active)) => return Ok(()),
            // Missing right after a create is the eventual consistency of DescribeTable.
            Ok(Some(TableStatus::Creating | TableStatus::Updating) | None) => {}
            Ok(Some(status)) => return Err((format!("the table is {status}, not usable"), None)),
            // A slow or overloaded server is no reason to give up before the wait's limit.
            Err(error)
                if error.is_request_failure() && Instant::now() + POLL_INTERVAL <= deadline =>
            {
                tracing::debug!(table, %error, "dynamorator: DescribeTable failed; asking again");
            }
            Err(error) => return Err(("DescribeTable failed".to_owned(), Some(error))),
        }
        if Instant::now() + POLL_INTERVAL > deadline {
            return Err((
                format!("the table was not ACTIVE within {} s", limit.as_secs()),
                None,
            ));
        }
        sleep(POLL_INTERVAL).await;
    }
}

/// Whether TTL is enabled (or being enabled) on `ttl`.
async fn ttl_status(client: &Client, table: &str) -> Result<bool, Error> {
    let output = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| from_sdk("DescribeTimeToLive", e))?;
    let description = output.time_to_live_description;
    let status = description
        .as_ref()
        .and_then(|d| d.time_to_live_status.clone());
    let on_ttl = description.and_then(|d| d.attribute_name).as_deref() == Some(attr::TTL);
    Ok(on_ttl
        && matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ))
}

/// Turns on TTL for a table this store created. Expired items are misses whether or not
/// this works, so failure is a warning: without it DynamoDB just never deletes them.
async fn enable_ttl(client: &Client, table: &str) {
    let specification = match TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attr::TTL)
        .build()
    {
        Ok(specification) => specification,
        Err(error) => {
            let error = from_build("UpdateTimeToLive", error);
            tracing::warn!(table, %error, "dynamorator: could not enable TTL");
            return;
        }
    };
    let result = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await;
    if let Err(error) = result {
        // A racing creator may have turned it on first: ask rather than parse the message.
        if ttl_status(client, table).await.unwrap_or(false) {
            return;
        }
        let error = from_sdk("UpdateTimeToLive", error);
        tracing::warn!(
            table,
            %error,
            "dynamorator: could not enable TTL; expired items stay in the table (reads still \
             treat them as misses)"
        );
    }
}
