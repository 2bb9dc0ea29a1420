//! Progress on stderr for anything that scans or writes many items: a spinner with counts,
//! shown only on a terminal and never with `--quiet`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A running count of what a command got through.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A spinner that shows `{pos} {what}` and the command's message; hidden when `quiet`
    /// (indicatif also hides it when stderr is not a terminal).
    pub fn new(quiet: bool, what: &str) -> Progress {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        let template =
            format!("{{spinner}} {{human_pos}} {what} {{msg}} ({{per_sec}}, {{elapsed}})");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    pub fn inc(&self, by: u64) {
        self.bar.inc(by);
    }

    pub fn message(&self, text: String) {
        self.bar.set_message(text);
    }

    /// Prints a line above the spinner (a problem found along the way).
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
