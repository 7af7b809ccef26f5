//! Tests of the screen: whole lines go to the printer in order, an unfinished line waits
//! until it ends or is said, and nothing is lost when the last handle goes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::{Output, Sink, spawn_printer, take_lines};

/// A printer that hands every message to the test.
struct Recorder(Sender<String>);

impl rustyline::ExternalPrinter for Recorder {
    fn print(&mut self, msg: String) -> rustyline::Result<()> {
        let _ = self.0.send(msg);
        Ok(())
    }
}

fn next(rx: &Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the printer got nothing")
}

#[test]
fn take_lines_splits_off_whole_lines_and_keeps_the_rest() {
    let mut pending = b"one\ntwo\nthr".to_vec();
    assert_eq!(take_lines(&mut pending).as_deref(), Some("one\ntwo\n"));
    assert_eq!(pending, b"thr");
    assert_eq!(take_lines(&mut pending), None);
    assert_eq!(pending, b"thr");
}

#[test]
fn streamed_text_reaches_the_printer_in_whole_lines_and_in_order() {
    let (tx, rx) = mpsc::channel();
    let (screen, thread) = spawn_printer(Recorder(tx)).unwrap();
    let output = Output::Screen(screen);
    let mut out = output.out();
    let mut other = output.out();
    out.write_all("Hel".as_bytes()).unwrap();
    out.flush().unwrap();
    out.write_all("lo, wörld\nand mo".as_bytes()).unwrap();
    assert_eq!(next(&rx), "Hello, wörld\n");
    // Another handle continues the same line: stdout and stderr share one buffer.
    other.write_all(b"re\n").unwrap();
    assert_eq!(next(&rx), "and more\n");
    other.say("Run it? > ");
    assert_eq!(next(&rx), "Run it? > ");
    out.write_all(b"half a line").unwrap();
    drop((out, other, output));
    assert_eq!(next(&rx), "half a line");
    thread.join().unwrap();
    assert!(rx.try_recv().is_err(), "nothing else was printed");
}

#[test]
fn saying_sends_what_is_pending_and_the_text_as_one_message() {
    let (tx, rx) = mpsc::channel();
    let (screen, thread) = spawn_printer(Recorder(tx)).unwrap();
    let mut sink = Sink::Screen(screen);
    sink.write_all(b"partial ").unwrap();
    sink.say("question\n  details\n[y/n] > ");
    assert_eq!(next(&rx), "partial question\n  details\n[y/n] > ");
    drop(sink);
    thread.join().unwrap();
    assert!(rx.try_recv().is_err());
}
