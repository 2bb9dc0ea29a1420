//! CPU time of the calling thread (a benchmark's client runs on one thread, so this is the
//! client's CPU, with an in-process proxy's on other threads left out), of this process, and
//! of another process (a server's).

use std::time::Duration;

/// User + system CPU time this thread has used so far, to the nanosecond (the scheduler's
/// clock, not the tick-rounded figure of `getrusage`).
pub fn thread_cpu_time() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// User + system CPU time this process has used so far, all its threads, to the nanosecond.
pub fn own_process_cpu_time() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointer it is given; on failure the
    // zero value stands.
    unsafe {
        libc::clock_gettime(id, &mut now);
    }
    Duration::from_secs(u64::try_from(now.tv_sec).unwrap_or(0))
        + Duration::from_nanos(u64::try_from(now.tv_nsec).unwrap_or(0))
}

/// User + system CPU time process `pid` has used so far (from /proc, in clock ticks), or
/// `None` when it cannot be read.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|t| *t > 0)?;
    Some(Duration::from_secs_f64(total as f64 / per_second as f64))
}
