//! An X server for the window tests: Xvfb started directly on a display it picks itself
//! (`-displayfd`), and stopped when the test's [`Display`] is dropped.
//!
//! The tests ran their windows through `xvfb-run` before. It left X servers behind when coxa was
//! killed (stop 71) and, once, turned coxa's own exit status 2 into 5 because it could not clean
//! up its temporary directory (stop 76): the status a test checks must be coxa's.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::common::in_ci;

/// The screen the window tests draw on (the viewer's window is smaller).
const SCREEN: &str = "1280x800x24";

/// A running Xvfb; killed when dropped.
pub struct Display {
    server: Child,
    /// The `-displayfd` pipe, kept open so that the server never writes into a closed one.
    _announce: BufReader<ChildStdout>,
    name: String,
}

impl Display {
    /// Starts an X server. `None` (with a note) where Xvfb is not installed outside CI; in CI
    /// its absence fails the test.
    pub fn start() -> Option<Display> {
        let spawned = Command::new("Xvfb").args(["-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn();
        let mut server = match spawned {
            Ok(s) => s,
            Err(e) => {
                assert!(!in_ci(), "Xvfb cannot be started ({e}): scripts/setup installs xvfb");
                eprintln!("note: no Xvfb here ({e}); the window test is skipped (scripts/setup installs xvfb)");
                return None;
            }
        };
        // The server writes its display number once it accepts connections.
        let mut announce = BufReader::new(server.stdout.take().expect("Xvfb's stdout is piped"));
        let mut line = String::new();
        let read = announce.read_line(&mut line);
        let number = line.trim();
        if read.is_err() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            let _ = server.kill();
            let status = server.wait();
            panic!("Xvfb did not announce a display (read {read:?}, {line:?}, exit {status:?})");
        }
        Some(Display { name: format!(":{number}"), server, _announce: announce })
    }

    /// `program` with `DISPLAY` set to this server.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("DISPLAY", &self.name);
        c
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
