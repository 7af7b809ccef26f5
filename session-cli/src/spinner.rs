//! The "working" spinner on stderr while the model has not answered yet.
//!
//! Drawn only on a terminal, and only from the front-end's own event loop (on its ticks), so it
//! can never interleave with output: the loop stops it before rendering anything else. When
//! disabled it writes nothing at all.

use std::io::{self, Write};
use std::time::Duration;

use session_core::EventMsg;

/// How often the spinner moves.
pub(crate) const TICK: Duration = Duration::from_millis(100);

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// A one-line spinner on stderr.
#[derive(Debug)]
pub(crate) struct Spinner {
    enabled: bool,
    active: bool,
    drawn: bool,
    frame: usize,
}

impl Spinner {
    /// A spinner that draws only when `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            active: false,
            drawn: false,
            frame: 0,
        }
    }

    /// Whether it wants ticks.
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Start spinning (if enabled).
    pub(crate) fn start(&mut self) {
        self.active = self.enabled;
    }

    /// Stop and erase the spinner line.
    pub(crate) fn stop(&mut self) {
        self.active = false;
        if self.drawn {
            let mut err = io::stderr();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    /// Draw the next frame.
    pub(crate) fn tick(&mut self) {
        if !self.active {
            return;
        }
        let mut err = io::stderr();
        let frame = FRAMES[self.frame % FRAMES.len()];
        self.frame = self.frame.wrapping_add(1);
        let _ = write!(err, "\r\x1b[2K\x1b[2m{frame} working…\x1b[0m");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Stop before `msg` is shown, and start again when the session goes back to waiting for
    /// the model (a turn started, a tool finished).
    pub(crate) fn around(&mut self, msg: &EventMsg) {
        self.stop();
        if matches!(
            msg,
            EventMsg::TaskStarted { .. }
                | EventMsg::ExecCommandEnd { .. }
                | EventMsg::PatchApplyEnd { .. }
        ) {
            self.start();
        }
    }
}
