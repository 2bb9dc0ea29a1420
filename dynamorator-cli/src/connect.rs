//! The store a command works on: a DynamoDB table or the embedded file, from the connection
//! options, through the library's builder.

use std::io::Read;
use std::path::Path;

use dynamorator::Store;

use crate::args::Connection;
use crate::failure::Failure;

/// Builds the store. Nothing is created unless `--create` says so: a mistyped table or file
/// name is an error, not a new empty table.
pub async fn open(connection: &Connection) -> Result<Store, Failure> {
    let builder = match (connection.table(), connection.embedded_file()) {
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
                    "--embedded-file {}: no such file (--create makes it)",
                    path.display()
                )));
            }
            refuse_an_export(path)?;
            Store::builder().embedded_file(path)
        }
        (Some(table), None) => {
            let mut builder = Store::builder()
                .table(table)
                .create_table(connection.create);
            if let Some(region) = &connection.region {
                builder = builder.region(region);
            }
            if let Some(profile) = &connection.profile {
                builder = builder.profile(profile);
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
        .zstd(connection.zstd)
        .split(connection.split);
    if let Some(level) = connection.zstd_level {
        builder = builder.zstd_level(level);
    }
    let store = builder.build().await?;
    Ok(store)
}

/// An export (JSON lines, what `export` writes) given as the embedded file is named as such:
/// it is a backup to import, never a database to open or replace.
fn refuse_an_export(path: &Path) -> Result<(), Failure> {
    let mut start = [0u8; 64];
    let read = match std::fs::File::open(path).and_then(|mut file| file.read(&mut start)) {
        Ok(read) => read,
        // Not there yet (--create), or unreadable: the library says which.
        Err(_) => return Ok(()),
    };
    let text = start.get(..read).unwrap_or_default();
    let first = text.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Err(Failure::Invalid(format!(
            "--embedded-file {0} is an export (JSON lines), not an embedded file: load it with \
             `import {0}` into a table, or into a new file (--embedded-file NEW.db --create)",
            path.display()
        )));
    }
    Ok(())
}
