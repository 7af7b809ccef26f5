//! One configured server's life: start it, list its tools, watch it, and stop it, on one task
//! that owns everything of the server (its process, its connection, its stderr).
//!
//! Exists so each server fails alone and says why. It must report exactly one of ready or
//! failed after starting (and failed again only after ready), report nothing once stopping, and
//! leave no process of the server's group behind, whichever way it ends.

use std::pin::pin;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::Tool;
use rmcp::service::{Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value};
use session_state::CancelToken;
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::McpStatus;
use super::client::{Handler, ProgressRoutes};
use super::config::McpServerConfig;
use super::error::humanize;
use super::http::ReqwestHttp;
use super::process::{self, StderrTail};
use crate::secrets;

/// How long a server may take to exit by itself once its stdin is closed, before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(150);
/// How long to wait for an exit status once the connection closed, to say how it ended.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(500);
/// How long a stop waits for the server's task before cutting it short.
const STOP_LIMIT: Duration = Duration::from_secs(3);
/// How long to wait for a killed group's processes to be gone.
const GONE_LIMIT: Duration = Duration::from_secs(2);

/// Called with a server's name and its new status.
pub(crate) type StatusCallback = Arc<dyn Fn(&str, &McpStatus) + Send + Sync>;

/// Where a server is in its life.
#[derive(Clone)]
pub(crate) enum Phase {
    Starting,
    Ready(Arc<Live>),
    Failed(String),
    Stopped,
}

/// A ready server: its connection and its (filtered) tools.
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    pub(crate) tools: Vec<ListedTool>,
    pub(crate) progress: ProgressRoutes,
}

/// One tool as the server listed it, after our filters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListedTool {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) input_schema: Value,
    pub(crate) read_only: bool,
}

/// One configured server, shared by the manager and the server's task.
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) config: McpServerConfig,
    phase: watch::Sender<Phase>,
    stop: CancelToken,
    /// The process group of its process; 0 before it has one.
    pgid: AtomicI32,
    task: Mutex<Option<JoinHandle<()>>>,
    on_status: StatusCallback,
}

impl Slot {
    /// A server about to start; its status is already [`McpStatus::Starting`].
    pub(crate) fn new(name: String, config: McpServerConfig, on_status: StatusCallback) -> Self {
        Self {
            name,
            config,
            phase: watch::Sender::new(Phase::Starting),
            stop: CancelToken::new(),
            pgid: AtomicI32::new(0),
            task: Mutex::new(None),
            on_status,
        }
    }

    /// Starts the server's task on `runtime`.
    pub(crate) fn begin(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let task = runtime.spawn(supervise(Arc::clone(self)));
        *self.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    pub(crate) fn status(&self) -> McpStatus {
        status_of(&self.phase.borrow())
    }

    /// Moves to `phase` and reports it, unless the server is being stopped.
    pub(crate) fn report(&self, phase: Phase) {
        if self.stop.is_cancelled() {
            self.phase.send_replace(Phase::Stopped);
            return;
        }
        let status = status_of(&phase);
        self.phase.send_replace(phase);
        (self.on_status)(&self.name, &status);
    }

    /// Resolves once the server is no longer starting, or after `limit`.
    pub(crate) async fn settled(&self, limit: Duration) {
        let mut rx = self.phase.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|p| !matches!(p, Phase::Starting))).await;
    }

    /// Why the server failed, waiting at most `limit` for it to be marked failed.
    pub(crate) async fn failure(&self, limit: Duration) -> Option<String> {
        let mut rx = self.phase.subscribe();
        let wait = rx.wait_for(|p| matches!(p, Phase::Failed(_) | Phase::Stopped));
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(phase)) => match &*phase {
                Phase::Failed(reason) => Some(reason.clone()),
                _ => Some("it was shut down".to_owned()),
            },
            _ => None,
        }
    }

    /// Stops the server: its connection closed, its process group killed, its task ended.
    pub(crate) async fn stop(&self) {
        self.stop.cancel();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_LIMIT, task).await.is_err() {
                abort.abort();
            }
        }
        let pgid = self.pgid.load(Ordering::SeqCst);
        process::kill_group(pgid);
        process::wait_until_gone(pgid, GONE_LIMIT).await;
        self.phase.send_replace(Phase::Stopped);
    }

    /// What [`Slot::stop`] does, without waiting: for drops.
    pub(crate) fn stop_now(&self) {
        self.stop.cancel();
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        process::kill_group(self.pgid.load(Ordering::SeqCst));
    }

    fn kill_group(&self) {
        process::kill_group(self.pgid.load(Ordering::SeqCst));
    }
}

fn status_of(phase: &Phase) -> McpStatus {
    match phase {
        Phase::Starting => McpStatus::Starting,
        Phase::Ready(live) => McpStatus::Ready {
            tools: live.tools.iter().map(|t| t.name.clone()).collect(),
        },
        Phase::Failed(error) => McpStatus::Failed {
            error: error.clone(),
        },
        Phase::Stopped => McpStatus::Failed {
            error: "shut down".to_owned(),
        },
    }
}

/// How the server is reached.
enum Link {
    Stdio(ChildStdin, ChildStdout),
    Http(StreamableHttpClientTransport<ReqwestHttp>),
}

/// The server's task: sets its process up, then lives its life while collecting its stderr.
async fn supervise(slot: Arc<Slot>) {
    if let Some(error) = slot.config.transport_error() {
        slot.report(Phase::Failed(error));
        return;
    }
    let tail = StderrTail::default();
    let (link, child, stderr) = match open(&slot) {
        Ok(opened) => opened,
        Err(reason) => {
            slot.report(Phase::Failed(reason));
            return;
        }
    };
    let mut life = pin!(live(&slot, link, child, &tail));
    let Some(stderr) = stderr else {
        life.await;
        return;
    };
    let mut collect = Some(Box::pin(tail.clone().collect(slot.name.clone(), stderr)));
    loop {
        tokio::select! {
            () = &mut life => return,
            () = async { if let Some(c) = collect.as_mut() { c.await } }, if collect.is_some() => {
                collect = None;
            }
        }
    }
}

/// Spawns the process (stdio) or builds the transport (HTTP).
fn open(slot: &Slot) -> Result<(Link, Option<Child>, Option<tokio::process::ChildStderr>), String> {
    let config = &slot.config;
    if let Some(command) = &config.command {
        let mut child = process::spawn(command, config)?;
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            slot.pgid.store(pid, Ordering::SeqCst);
        }
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the server's stdio could not be piped".to_owned());
        };
        let stderr = child.stderr.take();
        return Ok((Link::Stdio(stdin, stdout), Some(child), stderr));
    }
    let url = config.url.clone().unwrap_or_default();
    let mut transport = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(var) = &config.bearer_token_env_var {
        let token = secrets::env_var(var)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("the bearer token variable {var} is not set"))?;
        secrets::protect_variable(var);
        secrets::register_secret(&token);
        transport = transport.auth_header(token);
    }
    let mut headers = std::collections::HashMap::new();
    for (name, value) in &config.http_headers {
        let name = http::HeaderName::try_from(name.as_str())
            .map_err(|_| format!("invalid HTTP header name {name:?}"))?;
        let value = http::HeaderValue::try_from(value.as_str())
            .map_err(|_| format!("invalid value for HTTP header {name}"))?;
        headers.insert(name, value);
    }
    let transport = transport.custom_headers(headers);
    let client = ReqwestHttp::new()?;
    Ok((
        Link::Http(StreamableHttpClientTransport::with_client(
            client, transport,
        )),
        None,
        None,
    ))
}

/// How a ready server's watch ended.
enum End {
    Stop,
    Closed,
    Exited(std::io::Result<ExitStatus>),
}

/// Starts the MCP session, reports ready or failed, and watches the server until it ends or
/// is stopped.
async fn live(slot: &Slot, link: Link, mut child: Option<Child>, tail: &StderrTail) {
    let handler = Handler::default();
    let routes = handler.routes();
    let startup = async {
        let running = match link {
            Link::Stdio(stdin, stdout) => rmcp::serve_client(handler, (stdout, stdin)).await,
            Link::Http(transport) => rmcp::serve_client(handler, transport).await,
        }
        .map_err(|error| format!("initialize failed: {error}"))?;
        let tools = running
            .peer()
            .list_all_tools()
            .await
            .map_err(|error| format!("tools/list failed: {error}"))?;
        Ok::<_, String>((running, tools))
    };
    let timeout = slot.config.startup_timeout;
    let started = tokio::select! {
        biased;
        () = slot.stop.cancelled() => None,
        started = tokio::time::timeout(timeout, startup) => Some(started),
    };
    let (running, tools) = match started {
        None => return finish(slot, child).await,
        Some(Err(_)) => {
            let reason = format!("did not finish starting within {}", humanize(timeout));
            return fail(slot, child, reason, tail).await;
        }
        Some(Ok(Err(reason))) => {
            let reason = match exit_status(&mut child, EXIT_STATUS_WAIT).await {
                Some(status) => format!("exited ({status}) before it finished starting"),
                None => reason,
            };
            return fail(slot, child, reason, tail).await;
        }
        Some(Ok(Ok(started))) => started,
    };
    let tools = listed(tools, &slot.config);
    let live = Arc::new(Live {
        peer: running.peer().clone(),
        tools,
        progress: routes,
    });
    slot.report(Phase::Ready(live));
    watch_ready(slot, running, child, tail).await;
}

async fn watch_ready(
    slot: &Slot,
    running: RunningService<RoleClient, Handler>,
    mut child: Option<Child>,
    tail: &StderrTail,
) {
    let cancel = running.cancellation_token();
    let mut waiting = pin!(running.waiting());
    let end = tokio::select! {
        biased;
        () = slot.stop.cancelled() => End::Stop,
        _ = &mut waiting => End::Closed,
        status = wait_child(&mut child) => End::Exited(status),
    };
    // Closing the connection closes the server's stdin: its cue to exit.
    cancel.cancel();
    match end {
        End::Stop => {
            let _ = tokio::time::timeout(EXIT_GRACE, &mut waiting).await;
            let _ = exit_status(&mut child, EXIT_GRACE).await;
            finish(slot, child).await;
        }
        End::Closed => {
            let reason = match exit_status(&mut child, EXIT_STATUS_WAIT).await {
                Some(status) => format!("exited ({status})"),
                None => "closed the connection".to_owned(),
            };
            fail(slot, child, reason, tail).await;
        }
        End::Exited(status) => {
            let reason = match status {
                Ok(status) => format!("exited ({status})"),
                Err(error) => format!("could not be waited for: {error}"),
            };
            fail(slot, child, reason, tail).await;
            let _ = tokio::time::timeout(EXIT_GRACE, &mut waiting).await;
        }
    }
}

/// Reports `reason` (with the end of stderr) as the server's failure, then cleans up.
async fn fail(slot: &Slot, child: Option<Child>, reason: String, tail: &StderrTail) {
    // Let the stderr collector (polled beside us) read what the server wrote last.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reason = format!("{reason}{}", tail.describe());
    slot.kill_group();
    slot.report(Phase::Failed(secrets::redact(&reason).into_owned()));
    finish(slot, child).await;
}

/// Kills what is left of the server's process group and reaps its process.
async fn finish(slot: &Slot, child: Option<Child>) {
    slot.kill_group();
    if let Some(mut child) = child {
        let _ = child.kill().await;
    }
    process::wait_until_gone(slot.pgid.load(Ordering::SeqCst), GONE_LIMIT).await;
    if slot.stop.is_cancelled() {
        slot.phase.send_replace(Phase::Stopped);
    }
}

/// The child's exit status, waiting at most `limit`; `None` without a child or in time.
async fn exit_status(child: &mut Option<Child>, limit: Duration) -> Option<ExitStatus> {
    let child = child.as_mut()?;
    tokio::time::timeout(limit, child.wait()).await.ok()?.ok()
}

/// Resolves when the child exits; never without a child.
async fn wait_child(child: &mut Option<Child>) -> std::io::Result<ExitStatus> {
    match child.as_mut() {
        Some(child) => child.wait().await,
        None => std::future::pending().await,
    }
}

/// The tools `config` offers, deduplicated by name (first kept), sorted by name.
pub(crate) fn listed(tools: Vec<Tool>, config: &McpServerConfig) -> Vec<ListedTool> {
    let mut out: Vec<ListedTool> = Vec::new();
    for tool in tools {
        if !config.offers(&tool.name) || out.iter().any(|t| t.name == tool.name) {
            continue;
        }
        out.push(ListedTool {
            name: tool.name.to_string(),
            description: tool
                .description
                .as_deref()
                .or(tool.title.as_deref())
                .unwrap_or_default()
                .to_owned(),
            input_schema: normalize_schema(&tool.input_schema),
            read_only: tool
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The schema as given when it is an object schema, with `"type": "object"` added when it has
/// no type; anything else (another type, properties that are not an object) becomes
/// `{"type": "object"}`, which a model API accepts. A `required` that is not a list of strings
/// is dropped.
pub(crate) fn normalize_schema(schema: &Map<String, Value>) -> Value {
    let fallback = || serde_json::json!({"type": "object"});
    let mut schema = schema.clone();
    match schema.get("type") {
        None => {
            schema.insert("type".to_owned(), Value::from("object"));
        }
        Some(Value::String(kind)) if kind == "object" => {}
        Some(_) => return fallback(),
    }
    if schema.get("properties").is_some_and(|p| !p.is_object()) {
        return fallback();
    }
    let required_ok = schema.get("required").is_none_or(|r| {
        r.as_array()
            .is_some_and(|list| list.iter().all(Value::is_string))
    });
    if !required_ok {
        schema.remove("required");
    }
    Value::Object(schema)
}

#[cfg(test)]
mod tests;
