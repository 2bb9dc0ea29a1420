//! Table set-up at build time: create the table when missing, wait until it is ACTIVE, turn on
//! TTL. Safe against another process doing the same at the same moment, and against servers
//! without the TTL API.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use tokio::time::{Instant, sleep};

use super::dynamodb_errors::from_sdk;
use crate::Error;
use crate::item::attr;
use crate::log::{info_unless_silent, warn_unless_silent};

/// How often to ask whether a new table is ACTIVE: quick enough for local servers, a handful
/// of calls for the seconds real DynamoDB takes.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Makes sure `table` exists in the table format, is ACTIVE, and has TTL on `ttl` where the
/// server supports it.
pub(crate) async fn ensure_table(
    client: &Client,
    table: &str,
    wait_limit: Duration,
    silent: bool,
) -> Result<(), Error> {
    let setup_error = |message: String| Error::TableSetup {
        table: table.to_owned(),
        message,
    };
    let created = match describe_status(client, table).await {
        Ok(Some(_)) => false,
        Ok(None) => create_table(client, table, silent)
            .await
            .map_err(|e| setup_error(e.to_string()))?,
        Err(error) => return Err(setup_error(error.to_string())),
    };
    wait_until_active(client, table, wait_limit)
        .await
        .map_err(setup_error)?;
    if created {
        enable_ttl(client, table, silent).await;
        info_unless_silent!(silent, table, "dynamorator: table ready");
    } else {
        check_ttl(client, table, silent).await;
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
async fn create_table(client: &Client, table: &str, silent: bool) -> Result<bool, Error> {
    info_unless_silent!(silent, table, "dynamorator: creating table");
    let key = KeySchemaElement::builder()
        .attribute_name(attr::KEY)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| super::dynamodb_errors::from_build("CreateTable", e))?;
    let definition = AttributeDefinition::builder()
        .attribute_name(attr::KEY)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| super::dynamodb_errors::from_build("CreateTable", e))?;
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
            info_unless_silent!(
                silent,
                table,
                "dynamorator: table created by another process"
            );
            Ok(false)
        }
        Err(error) => Err(from_sdk("CreateTable", error)),
    }
}

async fn wait_until_active(client: &Client, table: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        match describe_status(client, table).await {
            Ok(Some(TableStatus::Active)) => return Ok(()),
            // Missing right after a create is the eventual consistency of DescribeTable.
            Ok(Some(TableStatus::Creating | TableStatus::Updating) | None) => {}
            Ok(Some(status)) => return Err(format!("table is {status}, not usable")),
            Err(error) => return Err(error.to_string()),
        }
        if Instant::now() + POLL_INTERVAL > deadline {
            return Err(format!("table was not ACTIVE within {limit:?}"));
        }
        sleep(POLL_INTERVAL).await;
    }
}

/// Turns on TTL for a table this store created. Expired items are misses whether or not
/// this works, so failure is a warning: without it DynamoDB just never deletes them.
async fn enable_ttl(client: &Client, table: &str, silent: bool) {
    let specification = match TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attr::TTL)
        .build()
    {
        Ok(specification) => specification,
        Err(error) => {
            warn_unless_silent!(silent, table, %error, "dynamorator: could not enable TTL");
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
        let message = error.message().unwrap_or_default().to_owned();
        // A racing creator may have turned it on first.
        if !message.contains("already enabled") {
            let error = from_sdk("UpdateTimeToLive", error);
            warn_unless_silent!(
                silent,
                table,
                %error,
                "dynamorator: could not enable TTL; expired items stay in the table (reads still \
                 treat them as misses)"
            );
        }
    }
}

/// For a table that was already there: say so if DynamoDB will not delete expired items.
/// Changing another owner's table is not ours to do.
async fn check_ttl(client: &Client, table: &str, silent: bool) {
    match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(output) => {
            let description = output.time_to_live_description;
            let status = description
                .as_ref()
                .and_then(|d| d.time_to_live_status.clone());
            let attribute = description.and_then(|d| d.attribute_name);
            let on_ttl = attribute.as_deref() == Some(attr::TTL);
            if !(on_ttl
                && matches!(
                    status,
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                ))
            {
                warn_unless_silent!(
                    silent,
                    table,
                    "dynamorator: TTL is not enabled on attribute `ttl`; expired items stay in \
                     the table (reads still treat them as misses)"
                );
            }
        }
        Err(error) => {
            let error = from_sdk("DescribeTimeToLive", error);
            warn_unless_silent!(silent, table, %error, "dynamorator: could not check TTL");
        }
    }
}
