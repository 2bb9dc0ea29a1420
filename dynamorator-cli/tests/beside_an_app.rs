//! The tool beside a running app: an app process (this test binary run again) keeps a store
//! open on an embedded file and writes to it all along, while the tool reads, lists, writes and
//! deletes in the same file, two commands at once; the app then reads what the tool wrote.

#![cfg(unix)]

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use dynamorator_testkit::workers::Workers;
use dynamorator_testkit::{test_dir, unique_file, unique_table_name};
use serde_json::{Value, json};

use support::tool;

const APP: Workers = Workers {
    entry: "app",
    prefix: "DYNAMORATOR_APP_",
    tag: "APP",
};

fn run(file: &std::path::Path, args: &[&str]) -> Output {
    let output = tool()
        .args(args)
        .arg("--embedded-file")
        .arg(file)
        .output()
        .expect("the tool runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_tool_reads_and_writes_a_file_an_app_holds_open() {
    let file = unique_file();
    let stop = test_dir().join(format!("{}.stop", unique_table_name()));
    let mut app = APP.start(
        "app",
        &[
            ("FILE", file.display().to_string()),
            ("STOP_FILE", stop.display().to_string()),
        ],
    );
    app.expect("ready", Instant::now() + Duration::from_secs(120));

    let got = run(&file, &["get", "app-key", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&got.stdout).unwrap(),
        json!({"from": "app"})
    );
    run(
        &file,
        &["put", "tool-key", r#"{"from":"tool"}"#, "--ttl", "1h"],
    );
    run(&file, &["delete", "app-doomed"]);
    // Two commands at once, beside the app.
    std::thread::scope(|scope| {
        let lists: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&file, &["keys", "--limit", "1000"])))
            .collect();
        for list in lists {
            let output = list.join().expect("the command's thread");
            assert!(!output.stdout.is_empty());
        }
    });
    let keys = String::from_utf8(run(&file, &["keys", "--limit", "1000"]).stdout).unwrap();
    assert!(keys.lines().any(|k| k == "app-key"), "{keys}");
    assert!(keys.lines().any(|k| k == "tool-key"), "{keys}");
    assert!(!keys.lines().any(|k| k == "app-doomed"), "{keys}");

    std::fs::write(&stop, b"stop").unwrap();
    let result = app.expect("result", Instant::now() + Duration::from_secs(120));
    app.finish(Instant::now() + Duration::from_secs(60));
    assert_eq!(result["tool_key"], json!({"from": "tool"}), "{result}");
    assert_eq!(result["doomed"], Value::Null, "{result}");
    assert!(result["writes"].as_u64().unwrap() > 0, "{result}");
}

/// The app: writes its keys, then keeps writing until the stop file appears (a few minutes at
/// most), then reads what the tool wrote and deleted.
#[test]
fn app() {
    let Ok(file) = std::env::var("DYNAMORATOR_APP_FILE") else {
        return;
    };
    let stop = std::path::PathBuf::from(std::env::var("DYNAMORATOR_APP_STOP_FILE").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = dynamorator::Store::builder()
            .embedded_file(file)
            .build()
            .await
            .unwrap();
        let ttl = dynamorator::Ttl::hours(1);
        store
            .put("app-key", &json!({"from": "app"}), ttl)
            .await
            .unwrap();
        store.put("app-doomed", &1, ttl).await.unwrap();
        println!("APP ready {{}}");
        let started = Instant::now();
        let mut writes = 0u64;
        while !stop.exists() && started.elapsed() < Duration::from_secs(300) {
            store
                .put(&format!("app-{}", writes % 50), &writes, ttl)
                .await
                .unwrap();
            writes += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let tool_key: Option<Value> = store.get("tool-key").await.unwrap();
        let doomed: Option<Value> = store.get("app-doomed").await.unwrap();
        println!(
            "APP result {}",
            json!({"tool_key": tool_key, "doomed": doomed, "writes": writes})
        );
    });
}
