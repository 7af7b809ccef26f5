//! Helpers: an isolated home and working directory per test, the `session` binary as a child
//! process with bounded waits, and a loopback mock model server.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use session_core::{Event, EventMsg, TokenUsage};
use session_testkit::{MockResponse, MockServer, RecordedRequest};

/// The longest any single wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A fresh `SESSION_HOME` and working directory.
pub struct Sandbox {
    pub home: tempfile::TempDir,
    pub cwd: tempfile::TempDir,
}

/// A finished run.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
        }
    }

    pub fn cwd(&self) -> &Path {
        self.cwd.path()
    }

    /// The binary with a clean environment, in the working directory. The approval policy is
    /// `untrusted` unless a test's flags say otherwise, so that approvals show; the tests of
    /// the defaults clear it (`env_remove("SESSION_APPROVAL_POLICY")`).
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        self.command_in(self.cwd.path(), args)
    }

    pub fn command_in<S: AsRef<str>>(&self, cwd: &Path, args: &[S]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_session"));
        command
            .args(args.iter().map(AsRef::as_ref))
            .current_dir(cwd)
            .env("SESSION_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("OPENAI_API_KEY")
            .env_remove("SESSION_MODEL")
            .env_remove("SESSION_MODEL_PROVIDER")
            .env("SESSION_APPROVAL_POLICY", "untrusted");
        command
    }

    /// Run to the end with `stdin` (or nothing) as input.
    pub fn run<S: AsRef<str>>(&self, args: &[S], stdin: Option<&str>) -> Output {
        self.run_command(self.command(args), stdin)
    }

    pub fn run_command(&self, mut command: Command, stdin: Option<&str>) -> Output {
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut running = Running::start(command);
        if let Some(text) = stdin {
            running.send_raw(text);
            running.close_stdin();
        }
        running.wait()
    }

    /// Start with piped stdin, stdout and stderr.
    pub fn spawn<S: AsRef<str>>(&self, args: &[S]) -> Running {
        let mut command = self.command(args);
        command.stdin(Stdio::piped());
        Running::start(command)
    }

    /// Every recording under the home, sorted.
    pub fn recordings(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "jsonl") {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.home.path().join("sessions"), &mut out);
        out.sort();
        out
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self.home.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

enum Chunk {
    Out(String),
    Err(String),
}

/// A running `session` whose output is collected as it comes.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<Chunk>,
    pub stdout: String,
    pub stderr: String,
    out_cursor: usize,
    err_cursor: usize,
    line_cursor: usize,
}

fn pump(
    mut reader: impl Read + Send + 'static,
    tx: mpsc::Sender<Chunk>,
    wrap: fn(String) -> Chunk,
) {
    std::thread::spawn(move || {
        let mut buf = [0_u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if tx.send(wrap(text)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl Running {
    pub fn start(mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot start the session binary");
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), tx.clone(), Chunk::Out);
        pump(child.stderr.take().unwrap(), tx, Chunk::Err);
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            rx,
            stdout: String::new(),
            stderr: String::new(),
            out_cursor: 0,
            err_cursor: 0,
            line_cursor: 0,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    pub fn send_raw(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is closed");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Send one line.
    pub fn send(&mut self, line: &str) {
        self.send_raw(&format!("{line}\n"));
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Send SIGINT, as Ctrl-C on a terminal does.
    pub fn interrupt(&self) {
        // SAFETY: `kill` with a valid pid and signal number has no memory-safety requirements.
        let rc = unsafe { libc::kill(self.pid(), libc::SIGINT) };
        assert_eq!(rc, 0, "cannot signal the child");
    }

    /// Take what arrived, waiting at most until `deadline`; false when nothing more will come.
    fn pull(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(Chunk::Out(text)) => self.stdout.push_str(&text),
            Ok(Chunk::Err(text)) => self.stderr.push_str(&text),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return false,
        }
        true
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        panic!(
            "timed out waiting for {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
    }

    /// Wait until stdout shows `needle` after what earlier waits consumed.
    pub fn expect_stdout(&mut self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.stdout[self.out_cursor..].find(needle) {
                self.out_cursor += i + needle.len();
                return;
            }
            if Instant::now() >= deadline || !self.pull(deadline) {
                self.fail(&format!("{needle:?} on stdout"));
            }
        }
    }

    /// Wait until stderr shows `needle` after what earlier waits consumed.
    pub fn expect_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.stderr[self.err_cursor..].find(needle) {
                self.err_cursor += i + needle.len();
                return;
            }
            if Instant::now() >= deadline || !self.pull(deadline) {
                self.fail(&format!("{needle:?} on stderr"));
            }
        }
    }

    /// Wait for the next protocol event on stdout matching `wanted`; returns it and every
    /// event before it.
    pub fn expect_event(&mut self, wanted: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
        let deadline = Instant::now() + TIMEOUT;
        let mut skipped = Vec::new();
        loop {
            while let Some(end) = self.stdout[self.line_cursor..].find('\n') {
                let line = self.stdout[self.line_cursor..self.line_cursor + end].to_owned();
                self.line_cursor += end + 1;
                let event: Event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not an event ({e}): {line}"));
                if wanted(&event) {
                    return (event, skipped);
                }
                skipped.push(event);
            }
            if Instant::now() >= deadline || !self.pull(deadline) {
                self.fail("an event");
            }
        }
    }

    /// Wait for the process to end (closing stdin first) and collect everything.
    pub fn wait(mut self) -> Output {
        self.close_stdin();
        let deadline = Instant::now() + TIMEOUT;
        while self.pull(deadline) {
            if Instant::now() >= deadline {
                self.fail("the process to end");
            }
        }
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Output {
                    code: status.code(),
                    stdout: std::mem::take(&mut self.stdout),
                    stderr: std::mem::take(&mut self.stderr),
                };
            }
            if Instant::now() >= deadline {
                self.fail("the process to exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mock model server on loopback, with the runtime that serves it.
pub struct Mock {
    // Dropped before the runtime.
    pub server: MockServer,
    _runtime: tokio::runtime::Runtime,
}

impl Mock {
    pub fn start(responses: Vec<MockResponse>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start(responses)).unwrap();
        Self {
            server,
            _runtime: runtime,
        }
    }

    /// `-c` arguments selecting this server as provider `mock` speaking `wire_api`.
    pub fn args(&self, wire_api: &str) -> Vec<String> {
        [
            "model_provider=mock".to_owned(),
            format!("model_providers.mock.base_url=\"{}/v1\"", self.server.url()),
            format!("model_providers.mock.wire_api=\"{wire_api}\""),
            "model_providers.mock.request_max_retries=0".to_owned(),
            "model_providers.mock.stream_max_retries=0".to_owned(),
            "model=\"mock-model\"".to_owned(),
        ]
        .into_iter()
        .flat_map(|arg| ["-c".to_owned(), arg])
        .collect()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    pub fn body(&self, index: usize) -> String {
        let requests = self.requests();
        let request = requests
            .get(index)
            .unwrap_or_else(|| panic!("no request #{index}; got {}", requests.len()));
        String::from_utf8_lossy(&request.body).into_owned()
    }
}

/// `mock.args(wire)` followed by `rest`.
pub fn with_args(mock: &Mock, wire_api: &str, rest: &[&str]) -> Vec<String> {
    let mut args = mock.args(wire_api);
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    args
}

pub fn usage(input: u64, output: u64) -> Option<TokenUsage> {
    Some(TokenUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        ..TokenUsage::default()
    })
}

/// The events of JSON Lines output; panics on any line that is not one.
pub fn events_of(stdout: &str) -> Vec<Event> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not an event ({e}): {line}"))
        })
        .collect()
}

pub fn kind(event: &Event) -> &'static str {
    event.msg.kind()
}

pub fn is(kind_name: &'static str) -> impl Fn(&Event) -> bool {
    move |event| event.msg.kind() == kind_name
}

/// The session id of a `session_configured` event.
pub fn session_id(event: &Event) -> String {
    match &event.msg {
        EventMsg::SessionConfigured { session_id, .. } => session_id.clone(),
        other => panic!("not session_configured: {other:?}"),
    }
}
