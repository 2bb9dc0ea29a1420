//! CPU time of the calling thread: the benchmark client runs on one thread, so this is the
//! client's CPU, with the in-process proxy's (on other threads) left out.

use std::time::Duration;

/// User + system CPU time this thread has used so far, to the nanosecond (the scheduler's
/// clock, not the tick-rounded figure of `getrusage`).
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointer it is given; on failure the
    // zero value stands.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now);
    }
    Duration::from_secs(u64::try_from(now.tv_sec).unwrap_or(0))
        + Duration::from_nanos(u64::try_from(now.tv_nsec).unwrap_or(0))
}
