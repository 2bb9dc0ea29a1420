//! The Python package, run by scripts/bench_python.py against the same server and data.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::measure::{Median, Run};

#[derive(Deserialize)]
struct Output {
    runs: Vec<Run>,
}

/// Times `op` with the Python package; `endpoint` is the server or the proxy in front of it.
pub fn measure(
    python: &Path,
    endpoint: &str,
    table: &str,
    op: &str,
    runs: usize,
) -> Result<Median, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_python.py");
    let output = Command::new(python)
        .arg(script)
        .args([table, op, &runs.to_string()])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "python {op} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: Output = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("python {op} printed {stdout:?}: {e}"))?;
    Ok(Median::of(&parsed.runs))
}
