//! The store a command works on: a DynamoDB table or the embedded file, from the connection
//! options, through the library's builder.

use dynamorator::Store;

use crate::args::Connection;
use crate::failure::Failure;

/// Builds the store. Nothing is created unless `--create` says so: a mistyped table or file
/// name is an error, not a new empty table.
pub async fn open(connection: &Connection) -> Result<Store, Failure> {
    // An empty value (`DYNAMORATOR_TABLE=`) is no value: it unsets an inherited variable.
    let table = connection.table.as_deref().filter(|name| !name.is_empty());
    let file = connection
        .embedded_file
        .as_deref()
        .filter(|path| !path.as_os_str().is_empty());
    let builder = match (table, file) {
        (Some(_), Some(_)) => {
            return Err(Failure::Invalid(
                "both a table (--table or DYNAMORATOR_TABLE) and --embedded-file are given: \
                 choose one"
                    .to_owned(),
            ));
        }
        (None, None) => {
            return Err(Failure::Invalid(
                "no table: give --table NAME (or set DYNAMORATOR_TABLE) or --embedded-file PATH"
                    .to_owned(),
            ));
        }
        (None, Some(path)) => {
            if !connection.create && !path.exists() {
                return Err(Failure::Invalid(format!(
                    "embedded file {} does not exist (--create makes it)",
                    path.display()
                )));
            }
            Store::builder().embedded_file(path)
        }
        (Some(table), None) => {
            let mut builder = Store::builder()
                .table(table)
                .create_table(connection.create);
            if let Some(region) = &connection.region {
                builder = builder.region(region);
            }
            if let Some(url) = &connection.endpoint_url {
                builder = builder.endpoint_url(url);
            }
            builder
        }
    };
    let mut builder = builder
        .compress(connection.compress)
        .compress_threshold(connection.compress_threshold)
        .zstd(connection.zstd);
    if let Some(level) = connection.zstd_level {
        builder = builder.zstd_level(level);
    }
    let store = builder.build().await?;
    Ok(store)
}
