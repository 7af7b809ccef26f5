//! Crash recovery of the real binary (DESIGN.md invariants 7 and 8). `session exec --json` runs
//! a long scripted turn (many model responses streamed in deltas, a shell call each) and is
//! killed with SIGKILL at a random moment, or right after the n-th `exec_command_begin` or
//! `agent_message` it printed. The recording it leaves must read back with at most a torn last
//! line, hold no corrupt line before that and nothing twice, and `resume --last` must continue
//! the same file (its complete lines kept byte for byte, the torn tail gone) and send the model
//! a history where every tool call has exactly one output. Some recordings are also cut at a
//! random byte before resuming, as a power loss would.
//!
//! Kills and cuts are seeded from the iteration number, so a failure names a reproducible case.
//! `SESSION_CRASH_KILLS` sets the number of kills (default 12; `cargo xtask stress` asks for
//! more). The test prints `kills: N, recordings checked: M, resumed: K` (see `--nocapture`).
//! The checks live in `crash/check.rs` and must not reuse the recorder's own parsing.

mod check;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use session_services::{Script, ScriptedResponse, read_recording};
use session_testkit::{MockResponse, sse_responses_text, sse_responses_tool_call};

use self::check::Lines;
use crate::support::{Mock, Running, Sandbox, events_of, is, kind, session_id, usage, with_args};

/// The environment variable giving the number of kills.
pub const KILLS_VAR: &str = "SESSION_CRASH_KILLS";
/// Kills when `SESSION_CRASH_KILLS` is not set.
const DEFAULT_KILLS: usize = 12;
/// Model responses in the long turn; all but the last call the shell once.
const RESPONSES: usize = 24;
/// Text items per response with a shell call (so `agent_message` events per response).
const MESSAGES_PER_RESPONSE: usize = 2;
/// The prompt of the killed run.
const PROMPT: &str = "work for a while, then stop";
/// The prompt of the resumed turn.
const RESUME_PROMPT: &str = "carry on after the crash";

/// splitmix64: small, seedable, good enough to spread kill points.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x5EED_C0DE_CAFE_F00D)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// Write `responses` as a JSON script under the home and return the `-c` arguments using it.
pub fn script_args(sandbox: &Sandbox, name: &str, responses: Vec<ScriptedResponse>) -> Vec<String> {
    let path = sandbox.home.path().join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(&Script { responses }).unwrap()).unwrap();
    vec![
        "-c".to_owned(),
        "model_provider=\"script\"".to_owned(),
        "-c".to_owned(),
        format!("model_script=\"{}\"", path.display()),
    ]
}

/// The long turn: text in many deltas with pauses, a fast shell command per response, usage.
/// About 200 KB of recording, so the recorder's 64 KiB buffer reaches the file mid-turn.
fn long_script() -> Vec<ScriptedResponse> {
    let mut responses: Vec<ScriptedResponse> = (0..RESPONSES)
        .map(|i| {
            ScriptedResponse::new()
                .text(
                    format!("part {i}: {}", "lorem ipsum dolor sit amet ".repeat(15)),
                    12,
                )
                .delay(Duration::from_millis(15))
                .text(format!("chunk {i}: {}", "abcdefghij".repeat(300)), 30)
                .delay(Duration::from_millis(15))
                .shell_call(format!("crash_call_{i}"), &["echo", &format!("n{i}")])
                .usage(100 + i as u64, 20)
        })
        .collect();
    responses.push(ScriptedResponse::new().text("All done.", 2).usage(50, 3));
    responses
}

/// When the process is killed.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after it was started.
    After(Duration),
    /// Right after its `nth` event of this kind was read from its stdout.
    Event { kind: &'static str, nth: usize },
}

fn kill_point(rng: &mut Rng, iteration: usize, typical: Duration) -> KillAt {
    match iteration % 6 {
        1 => KillAt::Event {
            kind: "exec_command_begin",
            nth: 1 + rng.below(RESPONSES),
        },
        3 => KillAt::Event {
            kind: "agent_message",
            nth: 1 + rng.below(RESPONSES * MESSAGES_PER_RESPONSE),
        },
        // Invariant 7: once the terminal event is out, the whole turn is in the file.
        5 => KillAt::Event {
            kind: "task_complete",
            nth: 1,
        },
        _ => KillAt::After(typical.mul_f64(rng.unit())),
    }
}

/// What the kills found.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    /// Killed before the recording had its first complete line.
    no_recording: usize,
    /// The run had ended by itself when the kill came.
    finished_first: usize,
    checked: usize,
    torn: usize,
    cut: usize,
    with_calls: usize,
    resumed: usize,
}

/// The number of kills asked for.
fn kills_wanted() -> usize {
    match std::env::var(KILLS_VAR) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{KILLS_VAR} must be a number, not {value:?}")),
        _ => DEFAULT_KILLS,
    }
}

#[test]
fn killed_sessions_leave_recordings_that_resume_in_place_without_loss_or_duplicates() {
    let kills = kills_wanted();
    let typical = calibrate();
    let mut tally = Tally::default();
    for iteration in 0..kills {
        crash_once(iteration, typical, &mut tally);
    }
    println!(
        "kills: {}, recordings checked: {}, resumed: {}",
        tally.kills, tally.checked, tally.resumed
    );
    println!(
        "  (killed before the recording existed: {}, finished before the kill: {}, \
         torn tails: {}, cut at a random byte: {}, with tool calls: {}, typical run: {} ms)",
        tally.no_recording,
        tally.finished_first,
        tally.torn,
        tally.cut,
        tally.with_calls,
        typical.as_millis()
    );
    assert_eq!(tally.kills, kills);
    assert_eq!(tally.checked + tally.no_recording, kills);
    assert_eq!(
        tally.resumed, tally.checked,
        "every checked recording resumed"
    );
    assert!(
        kills < 4 || tally.with_calls > 0,
        "no kill left a recording holding tool calls: the test checks nothing mid-turn"
    );
}

/// One full run: it must succeed and leave a finished recording; returns how long it took.
fn calibrate() -> Duration {
    let sandbox = Sandbox::new();
    let mut args = script_args(&sandbox, "long", long_script());
    args.extend(["exec", "--json", "--full-auto", PROMPT].map(str::to_owned));
    let started = Instant::now();
    let out = sandbox.run(&args, None);
    let took = started.elapsed();
    assert_eq!(out.code, Some(0), "{out:?}");
    let events = events_of(&out.stdout);
    assert_eq!(
        events
            .iter()
            .filter(|e| kind(e) == "exec_command_begin")
            .count(),
        RESPONSES
    );
    let recordings = sandbox.recordings();
    assert_eq!(recordings.len(), 1);
    let lines = check::split(&std::fs::read(&recordings[0]).unwrap()).unwrap();
    assert_eq!(lines.tail, 0, "a finished recording has no torn tail");
    check::well_formed(&lines).unwrap();
    check::calls_answered_exactly_once(&lines.response_items()).unwrap();
    assert_eq!(lines.call_ids().len(), RESPONSES);
    took
}

fn sigkill(running: &Running) {
    // SAFETY: `kill` with a pid and a signal number has no memory-safety requirements; the
    // child is not reaped before `wait`, so the pid cannot have been reused.
    let rc = unsafe { libc::kill(running.pid(), libc::SIGKILL) };
    assert_eq!(rc, 0, "cannot kill the child");
}

fn crash_once(iteration: usize, typical: Duration, tally: &mut Tally) {
    let mut rng = Rng::new(iteration as u64);
    let at = kill_point(&mut rng, iteration, typical);
    let sandbox = Sandbox::new();
    let mut args = script_args(&sandbox, "long", long_script());
    args.extend(["exec", "--json", "--full-auto", PROMPT].map(str::to_owned));
    let mut command = sandbox.command(&args);
    command.stdin(Stdio::null());
    let mut running = Running::start(command);
    match at {
        KillAt::After(delay) => std::thread::sleep(delay),
        KillAt::Event { kind, nth } => {
            for _ in 0..nth {
                running.expect_event(is(kind));
            }
        }
    }
    sigkill(&running);
    let out = running.wait();
    tally.kills += 1;
    let context = format!("kill #{iteration} at {at:?}");
    match out.code {
        None => {}
        Some(0) => tally.finished_first += 1,
        Some(code) => panic!("{context}: the run failed with {code} before the kill: {out:?}"),
    }

    let recordings = sandbox.recordings();
    assert!(recordings.len() <= 1, "{context}: {recordings:?}");
    let Some(path) = recordings.first() else {
        tally.no_recording += 1;
        return;
    };
    let context = format!("{context}, {}", path.display());
    let mut bytes = std::fs::read(path).unwrap();
    let mut lines = check_killed(&bytes, path, &context);
    if lines.values.is_empty() {
        // Killed between creating the file and writing its first line.
        tally.no_recording += 1;
        return;
    }
    if let KillAt::Event {
        kind: "task_complete",
        ..
    } = at
    {
        assert_whole_turn_recorded(&lines, &context);
    }
    tally.checked += 1;
    tally.torn += usize::from(lines.tail > 0);
    tally.with_calls += usize::from(!lines.call_ids().is_empty());

    // A power loss can cut the file at any byte after the first line, not only where a write
    // ended.
    let first_end = lines.raw[0].len() + 1;
    if iteration % 3 == 2 && bytes.len() > first_end + 1 {
        let cut = first_end + 1 + rng.below(bytes.len() - first_end - 1);
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(cut as u64).unwrap();
        drop(file);
        bytes.truncate(cut);
        lines = check_killed(&bytes, path, &format!("{context}, cut at byte {cut}"));
        tally.cut += 1;
    }

    let meta_id = lines.values[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    resume_and_check(&sandbox, path, &bytes, &lines, &meta_id, &context);
    tally.resumed += 1;
}

/// The checks of a recording as the kill left it; returns its lines.
fn check_killed(bytes: &[u8], path: &Path, context: &str) -> Lines {
    let lines = check::split(bytes).unwrap_or_else(|e| panic!("{context}: {e}"));
    if lines.values.is_empty() {
        assert!(
            !bytes.contains(&b'\n'),
            "{context}: a file without a complete line holds at most a torn first line"
        );
        return lines;
    }
    check::well_formed(&lines).unwrap_or_else(|e| panic!("{context}: {e}"));
    let read = read_recording(path).unwrap_or_else(|e| panic!("{context}: unreadable: {e}"));
    assert_eq!(
        read.truncated_tail_bytes, lines.tail as u64,
        "{context}: the reader's torn tail"
    );
    assert_eq!(
        read.history.len(),
        lines.response_items().len(),
        "{context}: every complete history line is read back"
    );
    lines
}

/// The recording of a turn whose `task_complete` was printed holds all of it.
fn assert_whole_turn_recorded(lines: &Lines, context: &str) {
    assert_eq!(lines.tail, 0, "{context}: torn after task_complete");
    check::calls_answered_exactly_once(&lines.response_items())
        .unwrap_or_else(|e| panic!("{context}: after task_complete: {e}"));
    assert_eq!(lines.call_ids().len(), RESPONSES, "{context}");
    assert!(
        lines
            .values
            .iter()
            .any(|v| v["type"] == "event" && v["payload"]["type"] == "task_complete"),
        "{context}: the terminal event is recorded"
    );
    assert!(
        lines
            .response_items()
            .iter()
            .any(|item| item.to_string().contains("All done.")),
        "{context}: the last answer is recorded"
    );
}

/// `resume --last` against a mock that calls the shell once, then answers.
fn resume_and_check(
    sandbox: &Sandbox,
    path: &Path,
    old: &[u8],
    lines: &Lines,
    meta_id: &str,
    context: &str,
) {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_after_resume",
            "shell",
            r#"{"command":["echo","resumed"]}"#,
            usage(10, 2),
        )),
        MockResponse::sse(sse_responses_text(&["Resumed ", "fine."], usage(12, 3))),
    ]);
    let out = sandbox.run(
        &with_args(
            &mock,
            "responses",
            &["resume", "--last", "--json", "--full-auto", RESUME_PROMPT],
        ),
        None,
    );
    assert_eq!(out.code, Some(0), "{context}: resume failed: {out:?}");
    let events = events_of(&out.stdout);
    assert_eq!(session_id(&events[0]), meta_id, "{context}");
    assert!(
        events.iter().any(|e| kind(e) == "task_complete"),
        "{context}: {out:?}"
    );
    assert_eq!(
        sandbox.recordings(),
        vec![PathBuf::from(path)],
        "{context}: the same file, no new one"
    );

    let new = std::fs::read(path).unwrap();
    assert!(
        new.starts_with(&old[..lines.good_end]),
        "{context}: the complete lines are kept byte for byte"
    );
    let after = check::split(&new).unwrap_or_else(|e| panic!("{context}: after resume: {e}"));
    assert_eq!(after.tail, 0, "{context}: the torn tail is gone");
    check::well_formed(&after).unwrap_or_else(|e| panic!("{context}: after resume: {e}"));
    check::calls_answered_exactly_once(&after.response_items())
        .unwrap_or_else(|e| panic!("{context}: after resume: {e}"));

    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "{context}: {out:?}");
    let old_calls = lines.call_ids();
    for (i, request) in requests.iter().enumerate() {
        let body = request.body_json();
        let input: Vec<&Value> = body["input"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: request {i} has no input array"))
            .iter()
            .collect();
        check::calls_answered_exactly_once(&input)
            .unwrap_or_else(|e| panic!("{context}: request {i} is not well formed: {e}"));
        let mut expected = old_calls.clone();
        if i == 1 {
            expected.push("call_after_resume".to_owned());
        }
        assert_eq!(
            check::call_ids(input.iter().copied()),
            expected,
            "{context}: request {i} carries every recorded call once"
        );
        let prompts = input
            .iter()
            .filter(|item| item.to_string().contains(RESUME_PROMPT))
            .count();
        assert_eq!(prompts, 1, "{context}: request {i} carries the prompt once");
    }
}
