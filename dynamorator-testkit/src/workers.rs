//! Worker processes for the tests that span processes: the test binary runs itself again with
//! one test selected (the worker's entry) and its instructions in environment variables; the
//! worker prints one `<TAG> <event> <json>` line per step, which the parent reads with a
//! deadline. A worker is killed when dropped, so a failing test leaves no orphan.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How a test binary's workers are started and how their lines are tagged.
#[derive(Debug, Clone, Copy)]
pub struct Workers {
    /// The test that is the worker's entry (`--exact` selects it).
    pub entry: &'static str,
    /// The start of the variables given to a worker (`{prefix}{name}`) and of its lines.
    pub prefix: &'static str,
    /// The first word of the lines a worker prints for its parent.
    pub tag: &'static str,
}

/// A worker process.
#[derive(Debug)]
pub struct Worker {
    name: String,
    tag: &'static str,
    child: Child,
    /// Where [`tell`](Worker::tell) writes: the worker's standard input.
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Workers {
    /// Starts this test binary as a worker named `name` (for messages) with `vars`.
    ///
    /// # Panics
    ///
    /// When the worker cannot be started: the test fails.
    pub fn start(&self, name: &str, vars: &[(&str, String)]) -> Worker {
        self.spawn(
            name,
            vars,
            &["--exact", self.entry, "--nocapture", "--test-threads=1"],
        )
    }

    /// Starts this binary (a benchmark driver, not a test binary: no arguments) as a worker
    /// named `name` with `vars`.
    ///
    /// # Panics
    ///
    /// When the worker cannot be started.
    pub fn start_binary(&self, name: &str, vars: &[(&str, String)]) -> Worker {
        self.spawn(name, vars, &[])
    }

    fn spawn(&self, name: &str, vars: &[(&str, String)], args: &[&str]) -> Worker {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the test binary: {e}"));
        let mut command = Command::new(exe);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::piped());
        for (variable, value) in vars {
            command.env(format!("{}{variable}", self.prefix), value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let Some(stdout) = child.stdout.take() else {
            panic!("{name}: no stdout")
        };
        let stdin = child.stdin.take();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Worker {
            name: name.to_owned(),
            tag: self.tag,
            child,
            stdin,
            lines,
        }
    }
}

impl Worker {
    /// The JSON of the worker's next `<TAG> <event>` line; fails the test (killing the worker)
    /// if it does not come before `deadline` or the worker exits first.
    ///
    /// # Panics
    ///
    /// As said: the test fails.
    pub fn expect(&mut self, event: &str, deadline: Instant) -> Value {
        let prefix = format!("{} {event} ", self.tag);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    // libtest prints "test <entry> ... " before the test's first line.
                    if let Some(at) = line.find(&prefix) {
                        let json = &line[at + prefix.len()..];
                        return serde_json::from_str(json)
                            .unwrap_or_else(|e| panic!("{}: {line:?}: {e}", self.name));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: no `{event}` line before its deadline (killed)",
                        self.name
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!(
                        "{}: exited ({status:?}) before its `{event}` line",
                        self.name
                    );
                }
            }
        }
    }

    /// Sends the worker one line on its standard input (a command of a worker that reads them).
    ///
    /// # Panics
    ///
    /// When the worker's input is closed (it exited): the test fails.
    pub fn tell(&mut self, line: &str) {
        let Some(stdin) = self.stdin.as_mut() else {
            panic!("{}: no stdin", self.name)
        };
        if let Err(error) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            panic!("{}: cannot tell it {line:?}: {error}", self.name);
        }
    }

    /// Stops the worker (SIGSTOP) until [`resume`](Worker::resume): a process paused by the
    /// system, a debugger or a long garbage-collection-like stall.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent: the test fails.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused worker run again (SIGCONT).
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent: the test fails.
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            panic!("{}: pid out of range", self.name)
        };
        // SAFETY: kill(2) with a pid of our own child and a valid signal number.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "{}: signal {signal} not sent", self.name);
    }

    /// Waits for the worker to exit successfully before `deadline`, else kills it and fails.
    ///
    /// # Panics
    ///
    /// As said: the test fails.
    pub fn finish(mut self, deadline: Instant) {
        for _ in 0..100_000 {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "{} exited with {status}", self.name);
                    return;
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    panic!("{} did not exit before its deadline (killed)", self.name);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(error) => panic!("{}: {error}", self.name),
            }
        }
        panic!("{} did not exit", self.name);
    }

    /// SIGKILL, now; then every `<TAG> <event>` line it printed before it died.
    ///
    /// # Panics
    ///
    /// When the worker cannot be killed: the test fails.
    pub fn kill(mut self, event: &str) -> Vec<Value> {
        if let Err(error) = self.child.kill() {
            panic!("{}: kill: {error}", self.name);
        }
        let _ = self.child.wait();
        // The reader thread ends at the pipe's end: what it read is all there is.
        let prefix = format!("{} {event} ", self.tag);
        let mut found = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            if let Some(at) = line.find(&prefix)
                && let Ok(json) = serde_json::from_str(&line[at + prefix.len()..])
            {
                found.push(json);
            }
        }
        found
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A paused worker is killed all the same (SIGKILL needs no SIGCONT).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (a minute at most) until the file at `path` exists: how a test lets workers start
/// together.
///
/// # Panics
///
/// When it does not appear in time: the worker fails.
pub async fn wait_for_file(path: &std::path::Path) {
    let started = Instant::now();
    for _ in 0..12_000 {
        if path.exists() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no start file {}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no start file {}", path.display());
}
