//! coxa's log into Python's `logging` (issue 58): the library's `tracing` events (each stage of
//! a long call as it begins, a stage's notes and warnings, `debug` details) become records of the
//! logger `coxa`, at the matching level (ERROR 40, WARN 30, INFO 20, DEBUG 10, TRACE 5), so that
//! a script or notebook sees a 30 s `coxa.case` as it goes with `logging.basicConfig(level=
//! logging.INFO)`, and its handlers, format and filters decide the rest. Python's own default
//! (WARNING) shows warnings only.
//!
//! Written here, not with the `pyo3-log` crate: that one bridges the `log` crate, and coxa logs
//! through `tracing`; bridging `tracing` to `log` would change `tracing`'s features for every
//! crate of the workspace (a rebuild of all of them, and the Python package's feature pins).
//!
//! A record is made with the GIL taken for it ([`Python::attach`]); coxa's work runs with the
//! GIL released (`guarded`), so a worker thread's event waits at most for Python's own work.
//! Events whose level the logger does not want cost one `isEnabledFor` call.

use std::fmt::Write as _;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The logger's name.
const LOGGER: &str = "coxa";

/// The layer that hands every event to Python.
struct ToPython;

/// An event's text: its message, then its other fields as `name=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Python's level number of a `tracing` level.
fn python_level(level: Level) -> u32 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

impl<S: Subscriber> Layer<S> for ToPython {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = python_level(*event.metadata().level());
        Python::attach(|py| {
            // A record that cannot be made (the interpreter shutting down, a handler raising) is
            // left out: logging never fails coxa's work.
            let _ = (|| -> PyResult<()> {
                let logger = py.import("logging")?.call_method1("getLogger", (LOGGER,))?;
                if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
                    let mut text = Text::default();
                    event.record(&mut text);
                    logger.call_method1("log", (level, format!("{}{}", text.message, text.fields)))?;
                }
                Ok(())
            })();
        });
    }
}

/// Sends coxa's events to Python's `logging` from now on (once per process; a subscriber set
/// before, by an embedding program, is kept).
pub fn install() {
    let _ = tracing_subscriber::registry().with(ToPython).try_init();
}
