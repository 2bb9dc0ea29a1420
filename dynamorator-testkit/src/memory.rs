//! The process's memory, as the kernel counts it (Linux's `/proc`).

/// This process's resident set in kB (`VmRSS` in `/proc/self/status`), or `None` where the
/// system has no `/proc` (not Linux).
///
/// ```
/// if let Some(kb) = dynamorator_testkit::resident_kb() {
///     assert!(kb > 0);
/// }
/// ```
pub fn resident_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
}
