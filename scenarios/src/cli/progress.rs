//! What a long command shows while it works: on a terminal, each stage of the case as a line when
//! it starts and a spinner with the stage and the time since the command started; nothing when
//! standard error is not a terminal (a pipe, a file, a cluster job's log) or with `-q`. The stages
//! are the library's progress events ([`coxa_case::stages::Progress`]), the same events the
//! Python package hands to its callback.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `-q` was given: no progress, only the result.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Records the global `-q` (the program's `main`, before any command runs).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// The stages of one command on the terminal (see the module docs). Dropped or
/// [`Stages::finish`]ed, the spinner is cleared: what stays on the terminal is one line per
/// stage, then the command's result.
pub struct Stages {
    bar: Option<ProgressBar>,
}

impl Stages {
    /// Shows the stages of `command` on standard error, when it is a terminal and `-q` was not given.
    pub fn start(command: &str) -> Self {
        Self::start_on(command, !quiet() && std::io::stderr().is_terminal())
    }

    /// [`Stages::start`] shown or not as `show` says (the tests' way to draw without a terminal).
    fn start_on(command: &str, show: bool) -> Self {
        if !show {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_prefix(command.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar: Some(bar) }
    }

    /// A stage begins: its line above the spinner, and the spinner's message.
    pub fn stage(&self, stage: &str) {
        tracing::info!("{stage}");
        if let Some(bar) = &self.bar {
            bar.println(format!("  {} {stage}", elapsed(bar)));
            bar.set_message(stage.to_string());
        }
    }

    /// The spinner cleared (the stages' lines stay).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The time since the command started, as the spinner shows it (`12.3s`).
fn elapsed(bar: &ProgressBar) -> String {
    format!("{:>6.1}s", bar.elapsed().as_secs_f64())
}
