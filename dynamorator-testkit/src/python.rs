//! Runs the Python package `dynamorator` 0.1.7 (installed by scripts/test) against a server.

use std::process::Command;

use serde_json::Value;

use crate::TestBackend;

/// Runs `script` with the test venv's Python, `store` bound to a `DynamoDBStore` on `table`
/// of `backend` (with `compress`/`threshold`), and returns what the script printed as JSON.
pub fn run(
    backend: TestBackend,
    table: &str,
    compress: bool,
    threshold: usize,
    script: &str,
) -> Value {
    let python = std::env::var("DYNAMORATOR_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("DYNAMORATOR_TEST_PYTHON is not set: run the tests with scripts/test")
    });
    let prelude = format!(
        "import json, datetime, sys\n\
         from dynamorator import DynamoDBStore\n\
         store = DynamoDBStore(table_name={table:?}, silent=True, compress={compress}, \
         compress_threshold={threshold}, region_name='us-east-1')\n",
        compress = if compress { "True" } else { "False" },
    );
    let output = Command::new(python)
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .env("AWS_ENDPOINT_URL", backend.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the test venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last_line = stdout.lines().last().unwrap_or("null");
    serde_json::from_str(last_line).unwrap_or_else(|e| panic!("python printed {stdout:?}: {e}"))
}
