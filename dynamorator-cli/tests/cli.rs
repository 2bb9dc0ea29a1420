//! The `dynamorator` tool, run as a user runs it, on the embedded file and (with the
//! `server-tests` feature) on moto and dynalite: each command's output and exit code, an
//! export → import round trip between backends, purging expired items, corrupt items in a
//! scan, and items the Python package wrote.

mod support;

on_every_table!(suite:
    get_put_info_and_delete,
    zstd_items_are_written_shown_exported_and_imported,
    split_values_are_written_shown_exported_and_imported,
    keys_with_a_prefix_and_a_limit,
    export_then_import_round_trips_between_backends,
    purge_expired_deletes_only_expired_items,
    purge_expired_deletes_expired_split_values_with_their_parts,
    stats_count_and_measure_the_items,
    bad_input_is_an_error,
    put_takes_the_value_inline_from_a_file_or_stdin,
    delete_counts_what_existed_and_removes_the_parts_of_split_values,
    keys_resume_after_a_cursor,
    ttl_expire_and_exists_answer_like_redis,
    numbers_are_checked_in_the_tools_words,
    import_include_expired_says_what_it_kept,
    errors_name_the_tools_flags_once_without_colour,
);

// Only on servers: raw writes of corrupt items, the Python package, table creation.
#[cfg(feature = "server-tests")]
mod servers {
    use super::server_suite;

    dynamorator_testkit::on_every_server!(server_suite:
        corrupt_items_are_reported_per_key_and_never_stop_a_scan,
        items_the_python_package_wrote_read_the_same,
        a_missing_table_is_an_error_unless_created,
        a_profile_gives_the_credentials_and_region,
    );
}

/// No region and no credentials, with nothing to find them in (no profile files, no instance
/// metadata): one line each, naming what to set. No server is reached.
#[test]
fn a_missing_region_or_credentials_is_one_line_naming_what_to_set() {
    let nowhere = dynamorator_testkit::unique_file();
    let bare = || {
        let mut command = support::tool();
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_REGION")
            .env_remove("RUST_LOG")
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .args(["get", "k", "--table", "cache1"]);
        command
    };
    bare().assert().code(ERROR).stderr(
        "dynamorator: error: no AWS region: give --region REGION (or set AWS_REGION), or \
         --profile NAME of a profile that has one\n",
    );
    // A closed loopback port: the credentials are looked for before anything is sent.
    bare()
        .args([
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .assert()
        .code(ERROR)
        .stderr(
            "dynamorator: error: no AWS credentials for table cache1 at http://127.0.0.1:9: set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile NAME (SSO and \
             instance roles work too)\n",
        );
}

/// Exit codes, as documented.
const NOT_FOUND: i32 = 1;
const ERROR: i32 = 2;
const PARTIAL: i32 = 3;

mod suite {
    use dynamorator::{Clock, Record, Ttl};
    use dynamorator_testkit::TestBackend;
    use predicates::prelude::*;
    use serde_json::{Value, json};

    use super::{ERROR, NOT_FOUND};
    use crate::support::{Table, stdout_of, tool};

    fn json_of(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// The lines of an export, sorted by key (scan order is the backend's).
    fn export_lines(table: &Table, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["export"];
        args.extend_from_slice(extra);
        let text = stdout_of(&mut table.cli(&args));
        let mut lines: Vec<Value> = text.lines().map(json_of).collect();
        lines.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
        lines
    }

    pub async fn get_put_info_and_delete(backend: TestBackend) {
        let table = Table::new(backend).await;
        let value = json!({"name": "Zoë", "score": 100, "tags": ["a", "b"]});

        table
            .cli(&["put", "user:1", "--ttl", "7d"])
            .write_stdin(value.to_string())
            .assert()
            .success()
            .stdout(predicate::str::starts_with("stored user:1: "));
        let pretty = stdout_of(table.cli(&["get", "user:1"]).env("NO_COLOR", "1"));
        assert_eq!(
            pretty,
            format!("{}\n", serde_json::to_string_pretty(&value).unwrap())
        );
        table
            .cli(&["get", "user:1", "--json"])
            .assert()
            .success()
            .stdout(format!("{value}\n"));

        let info = json_of(&stdout_of(&mut table.cli(&["info", "user:1", "--json"])));
        assert_eq!(info["key"], "user:1");
        assert_eq!(info["compressed"], false);
        assert_eq!(info["expired"], false);
        let created = info["created_at"].as_i64().unwrap();
        assert_eq!(info["expires_at"].as_i64().unwrap() - created, 7 * 86_400);
        assert!(info["size"].as_u64().unwrap() > value.to_string().len() as u64);
        table
            .cli(&["info", "user:1"])
            .assert()
            .success()
            .stdout(predicate::str::contains("compressed   no"))
            .stdout(predicate::str::contains("state        live"));

        // A file argument, compressed above the threshold.
        let path = dynamorator_testkit::unique_file();
        let big = json!({"rows": (0..200).map(|i| json!({"i": i})).collect::<Vec<_>>()});
        std::fs::write(&path, big.to_string()).unwrap();
        let file = format!("--file={}", path.display());
        table
            .cli(&["put", "big", "--ttl", "1.5d", "--compress", "--json", &file])
            .assert()
            .success()
            .stdout(predicate::str::contains(r#""compressed":true"#));
        assert_eq!(
            json_of(&stdout_of(&mut table.cli(&["get", "big", "--json"]))),
            big
        );

        table
            .cli(&["get", "absent"])
            .assert()
            .code(NOT_FOUND)
            .stdout("")
            .stderr(predicate::str::contains("absent: not found"));
        table.cli(&["info", "absent"]).assert().code(NOT_FOUND);

        table
            .cli(&["delete", "user:1", "big", "never-there"])
            .assert()
            .success()
            .stdout("deleted 2 of 3 keys (1 absent or expired)\n");
        table.cli(&["get", "user:1"]).assert().code(NOT_FOUND);
        table
            .cli(&["delete", "big", "--json"])
            .assert()
            .success()
            .stdout("{\"deleted\":0,\"absent\":1}\n");
        table
            .cli(&["delete", "big"])
            .assert()
            .success()
            .stdout("big was not there (absent or expired)\n");
        // The connection options also go before the command.
        let mut before = tool();
        match &table {
            Table::File(path) => {
                before.arg("--embedded-file").arg(path);
            }
            Table::Server { backend, name } => {
                before
                    .env("DYNAMORATOR_TABLE", name)
                    .env("AWS_ENDPOINT_URL", backend.endpoint());
            }
        }
        before.args(["get", "user:1"]).assert().code(NOT_FOUND);
    }

    pub async fn keys_with_a_prefix_and_a_limit(backend: TestBackend) {
        let table = Table::new(backend).await;
        let clock = Clock::manual();
        clock.set(clock.now_epoch_secs() - 10 * 86_400);
        {
            let store = table.store().await;
            let keys = ["a:1", "a:2", "a:3", "b:1"];
            store
                .put_many(keys.iter().map(|k| (*k, 1)), Ttl::days(1))
                .await
                .unwrap();
            // Expired: never listed.
            store
                .put_records([Record::new("a:old", 1, clock.now_epoch_secs())])
                .await
                .unwrap();
        }
        let mut all: Vec<String> = stdout_of(&mut table.cli(&["keys"]))
            .lines()
            .map(str::to_owned)
            .collect();
        all.sort();
        assert_eq!(all, ["a:1", "a:2", "a:3", "b:1"]);
        let prefixed = json_of(&stdout_of(
            &mut table.cli(&["keys", "--prefix", "a:", "--json"]),
        ));
        let mut keys: Vec<&str> = prefixed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        keys.sort();
        assert_eq!(keys, ["a:1", "a:2", "a:3"]);
        let limited = stdout_of(&mut table.cli(&["keys", "--prefix", "a:", "--limit", "2"]));
        assert_eq!(limited.lines().count(), 2);
        assert!(limited.lines().all(|k| k.starts_with("a:")));
    }

    pub async fn export_then_import_round_trips_between_backends(backend: TestBackend) {
        let source = Table::new(backend).await;
        {
            let store = source
                .store_with(|b| b.compress(true).compress_threshold(100))
                .await;
            store
                .put("plain", &json!({"n": 1}), Ttl::days(1))
                .await
                .unwrap();
            store
                .put("packed", &json!({"t": "x".repeat(500)}), Ttl::days(3))
                .await
                .unwrap();
            store
                .put("text", &"ünïcode ☕", Ttl::hours(2))
                .await
                .unwrap();
            store
                .put_records([
                    Record::new(
                        "fresh",
                        json!([1.5, null]),
                        store.clock().now_epoch_secs() + 900,
                    )
                    .created_at(Some(1_700_000_000))
                    .fresh_until(Some(store.clock().now_epoch_secs() + 60)),
                    Record::new("expired", json!(0), 1_700_000_000),
                ])
                .await
                .unwrap();
        }
        let exported = export_lines(&source, &["--segments", "3"]);
        let keys: Vec<&str> = exported
            .iter()
            .map(|l| l["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["fresh", "packed", "plain", "text"]);
        assert_eq!(exported[0]["created_at"], 1_700_000_000);
        assert!(exported[0]["fresh_until"].is_i64());
        assert_eq!(exported[1]["value"]["t"], "x".repeat(500));
        assert_eq!(
            exported[1]["encoding"], "gzip",
            "kept, so an import keeps it"
        );
        assert!(
            exported[2].get("encoding").is_none(),
            "plain JSON: no field"
        );

        let backup = dynamorator_testkit::unique_file();
        let backup_text: String = exported.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&backup, &backup_text).unwrap();

        // Into an embedded file, and, from a server, into another table of it.
        let mut destinations = vec![Table::new(TestBackend::EmbeddedFile).await];
        if backend.is_dynamodb() {
            destinations.push(Table::new(backend).await);
        }
        for destination in destinations {
            destination
                .cli(&["import"])
                .arg(&backup)
                .assert()
                .success()
                .stderr(predicate::str::contains("imported 4 items"));
            assert_eq!(export_lines(&destination, &[]), exported, "{destination:?}");
            // Through stdin, compressed this time: the same items.
            let again = Table::new(TestBackend::EmbeddedFile).await;
            again
                .cli(&[
                    "import",
                    "-",
                    "--reencode",
                    "--compress",
                    "--compress-threshold",
                    "0",
                    "--quiet",
                ])
                .write_stdin(backup_text.clone())
                .assert()
                .success()
                .stderr("");
            let without_encoding = |lines: Vec<Value>| -> Vec<Value> {
                lines
                    .into_iter()
                    .map(|mut line| {
                        line.as_object_mut().unwrap().remove("encoding");
                        line
                    })
                    .collect()
            };
            assert_eq!(
                without_encoding(export_lines(&again, &[])),
                without_encoding(exported.clone())
            );
            let info = json_of(&stdout_of(&mut again.cli(&["info", "plain", "--json"])));
            assert_eq!(info["compressed"], true);
        }
    }

    pub async fn zstd_items_are_written_shown_exported_and_imported(backend: TestBackend) {
        let table = Table::new(backend).await;
        let big =
            json!({"rows": (0..300).map(|i| json!({"i": i, "s": "zstd"})).collect::<Vec<_>>()});
        table
            .cli(&["put", "big", "--ttl", "1d", "--zstd", "--json"])
            .write_stdin(big.to_string())
            .assert()
            .success()
            .stdout(predicate::str::contains(r#""compressed":true"#));
        table
            .cli(&["put", "small", "--ttl", "1d", "--zstd"])
            .write_stdin("[1,2]")
            .assert()
            .success();
        let info = json_of(&stdout_of(&mut table.cli(&["info", "big", "--json"])));
        assert_eq!(
            (&info["compressed"], &info["encoding"]),
            (&json!(true), &json!("zstd"))
        );
        assert!(
            info["size"].as_u64().unwrap() < big.to_string().len() as u64 / 4,
            "{info}"
        );
        table
            .cli(&["info", "big"])
            .assert()
            .success()
            .stdout(predicate::str::contains("compressed   zstd"));
        // Under the threshold (1 KB by default): plain.
        let small = json_of(&stdout_of(&mut table.cli(&["info", "small", "--json"])));
        assert_eq!(small["encoding"], "json");
        assert_eq!(
            json_of(&stdout_of(&mut table.cli(&["get", "big", "--json"]))),
            big
        );
        let report = json_of(&stdout_of(&mut table.cli(&["stats", "--json"])));
        assert_eq!(report["compressed"]["zstd_items"], 1);
        assert_eq!(report["largest"][0]["encoding"], "zstd");

        // An export holds the values themselves and their encoding; an import keeps it, or
        // with --reencode writes them in the form asked for.
        let exported = export_lines(&table, &[]);
        assert_eq!(exported.len(), 2);
        assert_eq!(exported[0]["value"], big);
        assert_eq!(exported[0]["encoding"], "zstd");
        let lines: String = exported.iter().map(|l| format!("{l}\n")).collect();
        let kept = Table::new(TestBackend::EmbeddedFile).await;
        kept.cli(&["import", "-", "--quiet"])
            .write_stdin(lines.clone())
            .assert()
            .success();
        assert_eq!(export_lines(&kept, &[]), exported);
        let info = json_of(&stdout_of(&mut kept.cli(&["info", "big", "--json"])));
        assert_eq!(info["encoding"], "zstd", "kept without --zstd");
        let plain: Vec<Value> = exported
            .iter()
            .map(|line| {
                let mut line = line.clone();
                line.as_object_mut().unwrap().remove("encoding");
                line
            })
            .collect();
        for (flags, encoding) in [
            (
                &["--zstd-level", "19", "--compress-threshold", "0"][..],
                "zstd",
            ),
            (&["--compress"][..], "gzip"),
            (&[][..], "json"),
        ] {
            let destination = Table::new(TestBackend::EmbeddedFile).await;
            let mut import = destination.cli(&["import", "-", "--quiet", "--reencode"]);
            import.args(flags);
            import.write_stdin(lines.clone()).assert().success();
            let mut again = export_lines(&destination, &[]);
            for line in &mut again {
                line.as_object_mut().unwrap().remove("encoding");
            }
            assert_eq!(again, plain, "{flags:?}");
            let info = json_of(&stdout_of(&mut destination.cli(&["info", "big", "--json"])));
            assert_eq!(info["encoding"], encoding, "{flags:?}");
        }
    }

    pub async fn split_values_are_written_shown_exported_and_imported(backend: TestBackend) {
        let table = Table::new(backend).await;
        let big = json!({"text": "é".repeat(400_000)});
        table
            .cli(&["put", "big", "--ttl", "1d"])
            .write_stdin(big.to_string())
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("400 KB"));
        table
            .cli(&["put", "big", "--ttl", "1d", "--split"])
            .write_stdin(big.to_string())
            .assert()
            .success();
        let info = json_of(&stdout_of(&mut table.cli(&["info", "big", "--json"])));
        assert_eq!(info["parts"], 3, "{info}");
        table
            .cli(&["info", "big"])
            .assert()
            .success()
            .stdout(predicate::str::contains("split in 3 parts"));
        assert_eq!(
            json_of(&stdout_of(&mut table.cli(&["get", "big", "--json"]))),
            big
        );
        // The keys and the export show the value once, never its parts.
        assert_eq!(stdout_of(&mut table.cli(&["keys"])), "big\n");
        let exported = export_lines(&table, &[]);
        assert_eq!(exported.len(), 1);
        assert_eq!(exported[0]["value"], big);
        let line = format!("{}\n", exported[0]);
        let destination = Table::new(TestBackend::EmbeddedFile).await;
        destination
            .cli(&["import", "-", "--split", "--zstd", "--quiet"])
            .write_stdin(line)
            .assert()
            .success();
        assert_eq!(export_lines(&destination, &[]), exported);
    }

    pub async fn purge_expired_deletes_expired_split_values_with_their_parts(backend: TestBackend) {
        let table = Table::new(backend).await;
        let now = Clock::system().now_epoch_secs();
        let big = "x".repeat(700_000);
        {
            let store = table.store_with(|builder| builder.split(true)).await;
            store
                .put_records([
                    Record::new("old", big.clone(), now - 30),
                    Record::new("live", big.clone(), now + 86_400),
                ])
                .await
                .unwrap();
            assert_eq!(
                scanned_keys(&store).await.len(),
                8,
                "two heads, three parts each"
            );
        }
        let purged = json_of(&stdout_of(&mut table.cli(&["purge-expired", "--json"])));
        assert_eq!(purged["expired"], 4, "the head and its parts: {purged}");
        assert_eq!(purged["deleted"], 4, "{purged}");
        let store = table.store_with(|builder| builder.split(true)).await;
        let left = scanned_keys(&store).await;
        assert_eq!(left.len(), 4, "{left:?}");
        assert!(left.iter().all(|key| key.starts_with("live")), "{left:?}");
        assert_eq!(store.get::<String>("live").await.unwrap(), Some(big));
    }

    /// Every key a scan finds, parts of split values included.
    async fn scanned_keys(store: &dynamorator::Store) -> Vec<String> {
        use futures_util::TryStreamExt;
        store
            .scan(dynamorator::ScanOptions::new().include_parts(true))
            .map_ok(|item| item.key().to_owned())
            .try_collect()
            .await
            .unwrap()
    }

    pub async fn purge_expired_deletes_only_expired_items(backend: TestBackend) {
        let table = Table::new(backend).await;
        let now = Clock::system().now_epoch_secs();
        {
            let store = table.store().await;
            store
                .put_many((0..30).map(|i| (format!("live:{i}"), i)), Ttl::days(1))
                .await
                .unwrap();
            store
                .put_records((0..12).map(|i| Record::new(format!("old:{i}"), i, now - 30)))
                .await
                .unwrap();
        }
        // Expired half a minute ago: a server keeps them until purged, and so does the embedded
        // file (its sweep removes only items expired over a minute ago).
        let expected = 12;
        let dry = json_of(&stdout_of(&mut table.cli(&[
            "purge-expired",
            "--dry-run",
            "--json",
        ])));
        assert_eq!(dry["scanned"], 30 + expected);
        assert_eq!(dry["expired"], expected);
        assert_eq!(dry["deleted"], 0);
        assert_eq!(export_lines(&table, &["--include-expired"]).len(), 42);
        table
            .cli(&["purge-expired", "--segments", "2"])
            .assert()
            .success()
            .stdout(format!(
                "deleted {expected} expired items of {} scanned (0 unreadable)\n",
                30 + expected
            ));
        let left = export_lines(&table, &["--include-expired"]);
        assert_eq!(left.len(), 30);
        assert!(
            left.iter()
                .all(|l| l["key"].as_str().unwrap().starts_with("live:"))
        );
        table
            .cli(&["purge-expired"])
            .assert()
            .success()
            .stdout("deleted 0 expired items of 30 scanned (0 unreadable)\n");
    }

    pub async fn stats_count_and_measure_the_items(backend: TestBackend) {
        let table = Table::new(backend).await;
        {
            let store = table
                .store_with(|b| b.compress(true).compress_threshold(1024))
                .await;
            store
                .put_many((0..20).map(|i| (format!("small:{i}"), i)), Ttl::hours(2))
                .await
                .unwrap();
            let big = json!({"rows": (0..400).map(|i| json!({"row": i})).collect::<Vec<_>>()});
            store.put("big", &big, Ttl::days(10)).await.unwrap();
        }
        let report = json_of(&stdout_of(
            &mut table.cli(&["stats", "--json", "--top", "3"]),
        ));
        assert_eq!(report["items"], 21);
        assert_eq!(report["live"], 21);
        assert_eq!(report["unreadable"], 0);
        assert_eq!(report["compressed"]["items"], 1);
        assert!(report["compressed"]["ratio"].as_f64().unwrap() > 2.0);
        assert_eq!(report["largest"][0]["key"], "big");
        assert_eq!(report["largest"].as_array().unwrap().len(), 3);
        let ttl: Vec<u64> = report["ttl_left"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["items"].as_u64().unwrap())
            .collect();
        assert_eq!(ttl, [0, 20, 0, 1, 0]);

        let svg = dynamorator_testkit::unique_file().with_extension("svg");
        table
            .cli(&[
                "stats",
                "--prefix",
                "small:",
                "--svg",
                svg.to_str().unwrap(),
            ])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("items        20  (live 20"))
            .stdout(predicate::str::contains("largest items"));
        let drawn = std::fs::read_to_string(&svg).unwrap();
        assert!(drawn.starts_with("<svg "), "{drawn}");
        assert!(drawn.contains("Item sizes (20 items)"));
    }

    pub async fn put_takes_the_value_inline_from_a_file_or_stdin(backend: TestBackend) {
        let table = Table::new(backend).await;
        table
            .cli(&["put", "inline", r#"{"a": 1}"#, "--ttl", "1h"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("stored inline: "));
        let path = dynamorator_testkit::unique_file();
        std::fs::write(&path, "[1, 2]").unwrap();
        let file = format!("--file={}", path.display());
        table
            .cli(&["put", "from-file", "--ttl", "1h", &file])
            .assert()
            .success();
        table
            .cli(&["put", "from-stdin", "-", "--ttl", "1h"])
            .write_stdin("\"text\"")
            .assert()
            .success()
            // stdin is no terminal here: no hint.
            .stderr("");
        for (key, value) in [
            ("inline", json!({"a": 1})),
            ("from-file", json!([1, 2])),
            ("from-stdin", json!("text")),
        ] {
            let got = json_of(&stdout_of(&mut table.cli(&["get", key, "--json"])));
            assert_eq!(got, value, "{key}");
        }
        // A bare word is no JSON: the tool says how to write a string, or to name a file.
        table
            .cli(&["put", "k", "hello", "--ttl", "1h"])
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains(
                r#"a string is quoted as JSON: '"hello"'"#,
            ));
        table
            .cli(&["put", "k", path.to_str().unwrap(), "--ttl", "1h"])
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("is a file: read it with --file"));
        table
            .cli(&["put", "k", "1", "--ttl", "1h", &file])
            .assert()
            .code(ERROR);
    }

    /// Every item of the table, parts of split values included.
    async fn table_items(table: &Table) -> usize {
        use futures_util::TryStreamExt;
        let store = table.store().await;
        let items: Vec<dynamorator::ScannedItem> = store
            .scan(
                dynamorator::ScanOptions::new()
                    .include_parts(true)
                    .join_split_values(false),
            )
            .try_collect()
            .await
            .unwrap();
        items.len()
    }

    pub async fn delete_counts_what_existed_and_removes_the_parts_of_split_values(
        backend: TestBackend,
    ) {
        let table = Table::new(backend).await;
        let big = json!({"text": "é".repeat(400_000)});
        table
            .cli(&["put", "huge", "--ttl", "1d", "--split"])
            .write_stdin(big.to_string())
            .assert()
            .success();
        table
            .cli(&["put", "small", "1", "--ttl", "1d"])
            .assert()
            .success();
        assert_eq!(
            table_items(&table).await,
            5,
            "a head, 3 parts and a small value"
        );
        // Without --split: the keys are read first, so the parts go too.
        table
            .cli(&["delete", "huge", "small", "nope"])
            .assert()
            .success()
            .stdout("deleted 2 of 3 keys (1 absent or expired)\n");
        assert_eq!(table_items(&table).await, 0);
        table
            .cli(&["delete", "nope", "nope", "--json"])
            .assert()
            .success()
            .stdout("{\"deleted\":0,\"absent\":1}\n");
    }

    pub async fn keys_resume_after_a_cursor(backend: TestBackend) {
        let table = Table::new(backend).await;
        {
            let store = table.store().await;
            store
                .put_many((0..7).map(|i| (format!("k{i}"), i)), Ttl::days(1))
                .await
                .unwrap();
        }
        let mut listed: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        for _ in 0..10 {
            let mut args = vec!["keys", "--limit", "3", "--json"];
            if let Some(key) = &after {
                args.extend(["--after", key.as_str()]);
            }
            let page = json_of(&stdout_of(&mut table.cli(&args)));
            pages += 1;
            listed.extend(
                page["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|key| key.as_str().unwrap().to_owned()),
            );
            match page["last_key"].as_str() {
                Some(key) => after = Some(key.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "3 + 3 + 1 keys");
        listed.sort();
        assert_eq!(listed, (0..7).map(|i| format!("k{i}")).collect::<Vec<_>>());
        // In text, the cursor goes to stderr for people.
        table
            .cli(&["keys", "--limit", "2"])
            .assert()
            .success()
            .stderr(predicate::str::contains("more keys: --after "));
        let all = json_of(&stdout_of(&mut table.cli(&["keys", "--json"])));
        assert_eq!(all["last_key"], Value::Null);
    }

    pub async fn ttl_expire_and_exists_answer_like_redis(backend: TestBackend) {
        let table = Table::new(backend).await;
        let big = json!({"rows": (0..300).map(|i| json!({"i": i})).collect::<Vec<_>>()});
        table
            .cli(&["put", "k", "--ttl", "10m", "--zstd"])
            .write_stdin(big.to_string())
            .assert()
            .success();
        let before = json_of(&stdout_of(&mut table.cli(&["info", "k", "--json"])));
        let left = json_of(&stdout_of(&mut table.cli(&["ttl", "k", "--json"])));
        assert_eq!(left["expires_at"], before["expires_at"]);
        assert!(left["ttl"].as_i64().unwrap() <= 600);
        table
            .cli(&["ttl", "k"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("k: expires "));

        let changed = json_of(&stdout_of(
            &mut table.cli(&["expire", "k", "--ttl", "2d", "--json"]),
        ));
        let after = json_of(&stdout_of(&mut table.cli(&["info", "k", "--json"])));
        assert_eq!(after["expires_at"], changed["expires_at"]);
        let moved = after["expires_at"].as_i64().unwrap() - before["expires_at"].as_i64().unwrap();
        assert!(moved > 86_400, "moved by {moved} s");
        // The value, its encoding and its creation time are as they were: not rewritten.
        assert_eq!(after["encoding"], "zstd");
        assert_eq!(after["created_at"], before["created_at"]);
        assert_eq!(after["size"], before["size"]);
        assert_eq!(
            json_of(&stdout_of(&mut table.cli(&["get", "k", "--json"]))),
            big
        );

        table
            .cli(&["exists", "k"])
            .assert()
            .success()
            .stdout("true\n");
        table
            .cli(&["exists", "nope"])
            .assert()
            .code(NOT_FOUND)
            .stdout("false\n");
        table
            .cli(&["exists", "nope", "--json"])
            .assert()
            .code(NOT_FOUND)
            .stdout("{\"key\":\"nope\",\"exists\":false}\n");
        table.cli(&["ttl", "nope"]).assert().code(NOT_FOUND);
        table
            .cli(&["expire", "nope", "--ttl", "1h"])
            .assert()
            .code(NOT_FOUND)
            .stderr(predicate::str::contains("nothing changed"));
        assert_eq!(
            table
                .cli(&["get", "nope"])
                .assert()
                .get_output()
                .status
                .code(),
            Some(NOT_FOUND),
            "expire made nothing"
        );
        // Expired: absent to all three.
        {
            let store = table.store().await;
            let past = store.clock().now_epoch_secs() - 30;
            store
                .put_records([Record::new("old", json!(1), past)])
                .await
                .unwrap();
        }
        table.cli(&["exists", "old"]).assert().code(NOT_FOUND);
        table.cli(&["ttl", "old"]).assert().code(NOT_FOUND);
        table
            .cli(&["expire", "old", "--ttl", "1h"])
            .assert()
            .code(NOT_FOUND);
    }

    pub async fn numbers_are_checked_in_the_tools_words(backend: TestBackend) {
        let table = Table::new(backend).await;
        for (args, says) in [
            (
                &["put", "k", "1", "--ttl", "-1d"][..],
                "-1d is negative: a TTL is a positive number",
            ),
            (&["keys", "--limit", "-1"][..], "-1 is too small"),
            (&["keys", "--limit", "0"][..], "0 is too small"),
            (&["stats", "--top", "-1"][..], "-1 is negative"),
            (&["export", "--segments", "-2"][..], "-2 is too small"),
            (
                &["put", "k", "1", "--ttl", "1d", "--zstd-level", "50"][..],
                "zstd's levels are 1 (fastest) to 22",
            ),
            (
                &["put", "k", "1", "--ttl", "1d", "--zstd-level", "0"][..],
                "zstd's levels are 1",
            ),
            (
                &["put", "k", "1", "--ttl", "1d", "--compress-threshold", "-5"][..],
                "-5 is negative",
            ),
        ] {
            let assert = table.cli(args).assert().code(ERROR);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            assert!(stderr.contains(says), "{args:?}: {stderr}");
            assert!(!stderr.contains("-- -"), "{args:?}: clap's tip: {stderr}");
        }
        table
            .cli(&["put", "k", "1", "--ttl", "1d", "--zstd-level", "22"])
            .assert()
            .success();
        table.cli(&["get", "k"]).assert().success().stdout("1\n");
    }

    pub async fn import_include_expired_says_what_it_kept(backend: TestBackend) {
        let table = Table::new(backend).await;
        let now = Clock::system().now_epoch_secs();
        let lines = format!(
            "{}\n{}\n{}\n",
            json!({"key": "live", "value": 1, "ttl": now + 3_600}),
            json!({"key": "just-expired", "value": 2, "ttl": now - 30}),
            json!({"key": "long-expired", "value": 3, "ttl": 1_700_000_000}),
        );
        table
            .cli(&["import", "-"])
            .write_stdin(lines.clone())
            .assert()
            .success()
            .stderr("imported 1 items (2 expired left out, 0 refused)\n");
        let expected = if backend.is_dynamodb() {
            // A server keeps what it is given until its TTL deletion (none on moto, dynalite).
            "imported 3 items (2 expired: 2 kept as expired; 0 refused)\n"
        } else {
            "imported 2 items (2 expired: 1 kept as expired, 1 dropped by the embedded file, \
             which removes items a day after they expire; 0 refused)\n"
        };
        table
            .cli(&["import", "-", "--include-expired"])
            .write_stdin(lines)
            .assert()
            .success()
            .stderr(expected);
        // What it says it kept is there.
        let mut kept: Vec<String> = export_lines(&table, &["--include-expired"])
            .iter()
            .map(|line| line["key"].as_str().unwrap().to_owned())
            .collect();
        kept.sort();
        if backend.is_dynamodb() {
            assert_eq!(kept, ["just-expired", "live", "long-expired"]);
        } else {
            assert_eq!(kept, ["just-expired", "live"]);
        }
    }

    pub async fn errors_name_the_tools_flags_once_without_colour(backend: TestBackend) {
        let table = Table::new(backend).await;
        // The default log filter (no RUST_LOG), stderr not a terminal: no ANSI codes.
        let big: Vec<String> = (0..40_000).map(|i| format!("{i:016x}")).collect();
        let assert = table
            .cli(&["put", "big", "--ttl", "1d"])
            .env_remove("RUST_LOG")
            .write_stdin(serde_json::to_string(&big).unwrap())
            .assert()
            .code(ERROR);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains("--split stores it as parts"), "{stderr}");
        assert!(stderr.contains("--compress"), "{stderr}");
        assert!(!stderr.contains("StoreBuilder"), "{stderr}");
        assert!(!stderr.contains('\u{1b}'), "ANSI codes: {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // An export given as the embedded file: named as such, and nothing suggests deleting it.
        let backup = dynamorator_testkit::unique_file();
        std::fs::write(
            &backup,
            format!("{}\n", json!({"key": "a", "value": 1, "ttl": 1})),
        )
        .unwrap();
        let assert = tool()
            .args(["keys", "--embedded-file"])
            .arg(&backup)
            .assert()
            .code(ERROR);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains("is an export (JSON lines)"), "{stderr}");
        assert!(stderr.contains("import"), "{stderr}");
        assert!(!stderr.to_lowercase().contains("delete"), "{stderr}");
        assert!(backup.exists());
    }

    pub async fn bad_input_is_an_error(backend: TestBackend) {
        let table = Table::new(backend).await;
        table
            .cli(&["put", "k", "--ttl", "7d"])
            .write_stdin("{not json")
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("stdin is not JSON"));
        table
            .cli(&["put", "k", "--ttl", "7"])
            .write_stdin("1")
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("has no unit"));
        table
            .cli(&["import"])
            .write_stdin("{\"key\":\"ok\",\"value\":1,\"ttl\":99999999999}\nnot a line\n")
            .assert()
            .code(super::PARTIAL)
            .stderr(predicate::str::contains("stdin line 2"))
            .stderr(predicate::str::contains("imported 1 items"));
        table.cli(&["get", "ok"]).assert().success().stdout("1\n");
        tool()
            .args(["get", "k"])
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("no table: give --table NAME"));
        let missing = dynamorator_testkit::unique_file();
        tool()
            .args(["get", "k", "--embedded-file"])
            .arg(&missing)
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("no such file (--create makes it)"));
        assert!(!missing.exists());
        tool()
            .args(["keys", "--table", "t1", "--embedded-file"])
            .arg(&missing)
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains("choose one"));
    }
}

#[cfg(feature = "server-tests")]
mod server_suite {
    use dynamorator::Ttl;
    use dynamorator_testkit::{TestBackend, python, raw};
    use predicates::prelude::*;
    use serde_json::{Value, json};

    use super::{ERROR, PARTIAL};
    use crate::support::{Table, stdout_of, tool};

    pub async fn corrupt_items_are_reported_per_key_and_never_stop_a_scan(backend: TestBackend) {
        let table = Table::new(backend).await;
        {
            let store = table.store().await;
            store
                .put_many((0..10).map(|i| (format!("good:{i}"), i)), Ttl::days(1))
                .await
                .unwrap();
        }
        let client = raw::client(backend).await;
        let later = raw::now() + 86_400;
        let corrupt = [
            ("bad:base64", raw::s("%%% not base64"), true),
            ("bad:json", raw::s("{\"a\":"), false),
        ];
        for (key, data, compressed) in corrupt {
            let mut item = raw::Attributes::from([
                ("cache_id".to_owned(), raw::s(key)),
                ("ttl".to_owned(), raw::n(later)),
                ("data".to_owned(), data),
            ]);
            if compressed {
                item.insert(
                    "compressed".to_owned(),
                    aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                );
            }
            raw::put(&client, table.name(), item).await;
        }
        let no_data = raw::Attributes::from([
            ("cache_id".to_owned(), raw::s("bad:no-data")),
            ("ttl".to_owned(), raw::n(later)),
        ]);
        raw::put(&client, table.name(), no_data).await;

        let export = table
            .cli(&["export", "--segments", "2"])
            .assert()
            .code(PARTIAL);
        let output = export.get_output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stdout.lines().count(), 10, "{stdout}");
        assert!(stdout.lines().all(|l| l.starts_with("{\"key\":\"good:")));
        for key in ["bad:base64", "bad:json"] {
            assert!(
                stderr.contains(&format!("dynamorator: {key}: ")),
                "{stderr}"
            );
        }
        // An item without `data` (a lease on a key not loaded yet) is no value: left out of
        // scans, not reported as unreadable.
        assert!(!stderr.contains("bad:no-data"), "{stderr}");
        assert!(stderr.contains("exported 10 items (0 expired left out, 2 unreadable)"));

        let report: Value =
            serde_json::from_str(&stdout_of(&mut table.cli(&["stats", "--json"]))).unwrap();
        assert_eq!(report["items"], 12);
        assert_eq!(report["unreadable"], 2);
        table.cli(&["stats"]).assert().code(PARTIAL);
        table
            .cli(&["purge-expired", "--dry-run"])
            .assert()
            .success()
            .stdout("would delete 0 expired items of 12 scanned (0 unreadable)\n");
        table
            .cli(&["get", "bad:json"])
            .assert()
            .code(ERROR)
            .stderr(predicate::str::contains(
                "stored item \"bad:json\" is corrupt",
            ));
        // Listing keys reads no values: corrupt items are listed, items without `data` not.
        assert_eq!(stdout_of(&mut table.cli(&["keys"])).lines().count(), 12);
    }

    pub async fn items_the_python_package_wrote_read_the_same(backend: TestBackend) {
        let table = Table::new(backend).await;
        let small = json!({"name": "Zoë", "n": [1, 2.5]});
        let large = json!({"rows": (0..300).map(|i| json!({"i": i, "s": format!("row {i}")})).collect::<Vec<_>>()});
        python::run(
            backend,
            table.name(),
            true,
            1024,
            &format!(
                "store.put('py:small', json.loads({:?}), ttl_days=2)\n\
                 store.put('py:large', json.loads({:?}), ttl_days=0.5)\n\
                 print('null')",
                small.to_string(),
                large.to_string()
            ),
        );
        let got: Value =
            serde_json::from_str(&stdout_of(&mut table.cli(&["get", "py:small", "--json"])))
                .unwrap();
        assert_eq!(got, small);
        let info: Value =
            serde_json::from_str(&stdout_of(&mut table.cli(&["info", "py:large", "--json"])))
                .unwrap();
        assert_eq!(info["compressed"], true);
        assert_eq!(
            info["expires_at"].as_i64().unwrap() - info["created_at"].as_i64().unwrap(),
            43_200
        );
        let exported = stdout_of(&mut table.cli(&["export"]));
        let mut lines: Vec<Value> = exported
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        lines.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
        assert_eq!(lines[0]["value"], large);
        assert_eq!(lines[1]["value"], small);
    }

    pub async fn a_profile_gives_the_credentials_and_region(backend: TestBackend) {
        let table = Table::new(backend).await;
        let dir = dynamorator_testkit::unique_file();
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        let credentials = dir.join("credentials");
        std::fs::write(&config, "[profile cache-admin]\nregion = us-east-1\n").unwrap();
        std::fs::write(
            &credentials,
            "[cache-admin]\naws_access_key_id = test\naws_secret_access_key = test\n",
        )
        .unwrap();
        let with_profile = || {
            let mut command = tool();
            command
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env_remove("AWS_REGION")
                .env("AWS_CONFIG_FILE", &config)
                .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
                .args(["--table", table.name(), "--endpoint-url"])
                .arg(backend.endpoint());
            command
        };
        with_profile()
            .args(["put", "k", "1", "--ttl", "1h", "--profile", "cache-admin"])
            .assert()
            .success();
        with_profile()
            .env("AWS_PROFILE", "cache-admin")
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("1\n");
        // Without it: no region, said in one line with the flags that give one.
        with_profile()
            .args(["get", "k"])
            .assert()
            .code(ERROR)
            .stderr(
                "dynamorator: error: no AWS region: give --region REGION (or set AWS_REGION), \
                 or --profile NAME of a profile that has one\n",
            );
    }

    pub async fn a_missing_table_is_an_error_unless_created(backend: TestBackend) {
        let name = dynamorator_testkit::unique_table_name();
        let endpoint = backend.endpoint();
        let connection = [
            "--table",
            name.as_str(),
            "--endpoint-url",
            endpoint.as_str(),
        ];
        tool()
            .args(["keys"])
            .args(connection)
            .assert()
            .code(ERROR)
            .stderr(format!(
                "dynamorator: error: table {name} at {endpoint} does not exist: check --table \
                 and --region, or give --create to make it\n"
            ));
        tool()
            .args(["put", "k", "--ttl", "1h", "--create"])
            .args(connection)
            .write_stdin("true")
            .assert()
            .success();
        tool()
            .args(["get", "k"])
            .args(connection)
            .assert()
            .success()
            .stdout("true\n");
    }
}
