//! Panic safety at the ports: every service the session calls is wrapped so that a panic in it
//! (a bug in an embedder's model or shell, a violated mockall expectation) becomes an error that
//! names the port and the method, never a dead task that hangs the session.
//!
//! Ports that return errors get their own `Panicked` error, and the turn that called them ends
//! with an `error` event and is finalized as usual. Ports that cannot fail (the notifier, the
//! sandbox's answers, the user's shell) report the panic through [`Reporter`] as a session-level
//! `error` event and fall back to a safe answer.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::{FutureExt, Stream};
use session_services::{
    ExecChunk, ExecOutput, ExecRequest, FileSystem, FsError, ListFilter, ModelClient, ModelError,
    ModelEvent, ModelRequest, ModelStream, Notification, Notifier, Recorder, RecorderError,
    ResumedSession, RolloutItem, Sandbox, SandboxSupport, SessionMeta, SessionServices,
    SessionSummary, Shell, ShellError, UserShell,
};
use session_state::{CancelToken, Event, EventMsg};
use tokio::sync::mpsc;

/// The text of a panic's payload.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// "the model client panicked in `stream`: …"
fn message(port: &str, method: &str, payload: &(dyn Any + Send)) -> String {
    format!("the {port} panicked in `{method}`: {}", panic_text(payload))
}

/// Where panics of ports that cannot fail are told: the session's event channel, once it exists.
/// It also holds the panic of a tool's port (shell, file system) until the tool call ends, so the
/// turn can stop there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reporter {
    events: Arc<OnceLock<mpsc::UnboundedSender<Event>>>,
    failed: Arc<std::sync::Mutex<Option<String>>>,
}

impl Reporter {
    /// A tool's port panicked: the running tool call ends the turn.
    fn fail(&self, message: &str) {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failed.get_or_insert_with(|| message.to_owned());
    }

    /// The panic of a tool's port since the last call, if any.
    pub(crate) fn take_failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Report from now on through `events`.
    pub(crate) fn connect(&self, events: mpsc::UnboundedSender<Event>) {
        let _ = self.events.set(events);
    }

    /// Send a session-level event (id `""`) once connected.
    #[cfg(feature = "mcp")]
    pub(crate) fn send(&self, msg: EventMsg) {
        if let Some(events) = self.events.get() {
            let _ = events.send(Event {
                id: String::new(),
                msg: crate::redact::event(msg),
            });
        }
    }

    fn report(&self, message: String) {
        tracing::error!(%message, "a port panicked");
        if let Some(events) = self.events.get() {
            let _ = events.send(Event {
                id: String::new(),
                msg: crate::redact::event(EventMsg::Error { message }),
            });
        }
    }
}

/// `services` with every port wrapped.
pub(crate) fn wrap(services: SessionServices, reporter: &Reporter) -> SessionServices {
    SessionServices {
        recorder: Arc::new(Guarded(services.recorder)),
        shell: Arc::new(GuardedShell {
            inner: services.shell,
            reporter: reporter.clone(),
        }),
        notifier: Arc::new(GuardedNotifier {
            inner: services.notifier,
            reporter: reporter.clone(),
        }),
        model: Arc::new(Guarded(services.model)),
        fs: Arc::new(GuardedFs {
            inner: services.fs,
            reporter: reporter.clone(),
        }),
        sandbox: Arc::new(GuardedSandbox {
            inner: services.sandbox,
            reporter: reporter.clone(),
        }),
    }
}

/// Run `f`, turning a panic into `Err(message)`.
async fn guarded<T>(port: &str, method: &str, f: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(f)
        .catch_unwind()
        .await
        .map_err(|p| message(port, method, p.as_ref()))
}

fn guarded_sync<T>(port: &str, method: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| message(port, method, p.as_ref()))
}

/// A port whose errors can say it panicked.
struct Guarded<T: ?Sized>(Arc<T>);

#[async_trait::async_trait]
impl ModelClient for Guarded<dyn ModelClient> {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let stream = guarded("model client", "stream", self.0.stream(request))
            .await
            .map_err(ModelError::Panicked)??;
        Ok(Box::pin(GuardedStream {
            inner: Some(stream),
        }))
    }
}

/// A model stream whose panics end it with [`ModelError::Panicked`].
struct GuardedStream {
    inner: Option<ModelStream>,
}

impl Stream for GuardedStream {
    type Item = Result<ModelEvent, ModelError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                // A stream that panicked is never polled again.
                self.inner = None;
                let text = message("model stream", "poll_next", payload.as_ref());
                Poll::Ready(Some(Err(ModelError::Panicked(text))))
            }
        }
    }
}

#[async_trait::async_trait]
impl Recorder for Guarded<dyn Recorder> {
    async fn start(&self, meta: SessionMeta) -> Result<PathBuf, RecorderError> {
        guarded("recorder", "start", self.0.start(meta))
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn resume(&self, path: &Path) -> Result<ResumedSession, RecorderError> {
        guarded("recorder", "resume", self.0.resume(path))
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn record(&self, items: Vec<RolloutItem>) -> Result<(), RecorderError> {
        guarded("recorder", "record", self.0.record(items))
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn flush(&self) -> Result<(), RecorderError> {
        guarded("recorder", "flush", self.0.flush())
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn shutdown(&self) -> Result<(), RecorderError> {
        guarded("recorder", "shutdown", self.0.shutdown())
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn list(&self, filter: ListFilter) -> Result<Vec<SessionSummary>, RecorderError> {
        guarded("recorder", "list", self.0.list(filter))
            .await
            .map_err(RecorderError::Panicked)?
    }

    async fn find(&self, id: &str) -> Result<PathBuf, RecorderError> {
        guarded("recorder", "find", self.0.find(id))
            .await
            .map_err(RecorderError::Panicked)?
    }
}

struct GuardedFs {
    inner: Arc<dyn FileSystem>,
    reporter: Reporter,
}

impl GuardedFs {
    fn failed(&self, message: String) -> FsError {
        self.reporter.fail(&message);
        FsError::Panicked(message)
    }
}

#[async_trait::async_trait]
impl FileSystem for GuardedFs {
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError> {
        guarded(
            "file system",
            "read_to_string",
            self.inner.read_to_string(path),
        )
        .await
        .map_err(|m| self.failed(m))?
    }

    async fn write(&self, path: &Path, contents: &str) -> Result<(), FsError> {
        guarded("file system", "write", self.inner.write(path, contents))
            .await
            .map_err(|m| self.failed(m))?
    }

    async fn remove(&self, path: &Path) -> Result<(), FsError> {
        guarded("file system", "remove", self.inner.remove(path))
            .await
            .map_err(|m| self.failed(m))?
    }

    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        guarded("file system", "rename", self.inner.rename(from, to))
            .await
            .map_err(|m| self.failed(m))?
    }

    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        guarded("file system", "resolve", self.inner.resolve(path))
            .await
            .map_err(|m| self.failed(m))?
    }
}

struct GuardedShell {
    inner: Arc<dyn Shell>,
    reporter: Reporter,
}

#[async_trait::async_trait]
impl Shell for GuardedShell {
    fn user_shell(&self) -> UserShell {
        guarded_sync("shell", "user_shell", || self.inner.user_shell()).unwrap_or_else(|m| {
            self.reporter.report(m);
            UserShell {
                path: PathBuf::from("/bin/sh"),
            }
        })
    }

    async fn run(
        &self,
        request: ExecRequest,
        output: Option<mpsc::Sender<ExecChunk>>,
        cancel: CancelToken,
    ) -> Result<ExecOutput, ShellError> {
        let program = request.argv.first().cloned().unwrap_or_default();
        guarded("shell", "run", self.inner.run(request, output, cancel))
            .await
            .map_err(|message| {
                self.reporter.fail(&message);
                ShellError::Panicked { program, message }
            })?
    }
}

struct GuardedNotifier {
    inner: Arc<dyn Notifier>,
    reporter: Reporter,
}

impl Notifier for GuardedNotifier {
    fn notify(&self, notification: &Notification) {
        if let Err(m) = guarded_sync("notifier", "notify", || self.inner.notify(notification)) {
            self.reporter.report(m);
        }
    }
}

struct GuardedSandbox {
    inner: Arc<dyn Sandbox>,
    reporter: Reporter,
}

impl Sandbox for GuardedSandbox {
    fn support(&self) -> SandboxSupport {
        guarded_sync("sandbox", "support", || self.inner.support()).unwrap_or_else(|m| {
            self.reporter.report(m.clone());
            // Nothing can be said to be confined by a sandbox that panics.
            SandboxSupport::Unavailable { reason: m }
        })
    }

    fn denied(&self, output: &ExecOutput) -> bool {
        guarded_sync("sandbox", "denied", || self.inner.denied(output)).unwrap_or_else(|m| {
            self.reporter.report(m);
            false
        })
    }
}
