//! The test server's tools: each exists to put the client in one situation (an answer, a death
//! mid-call, no answer at all, progress then cancellation, odd names, broken schemas).
//!
//! Every tool answers from its arguments alone; none touches the file system or the network.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, Resource, ResourceContents,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

/// A 1×1 transparent PNG, base64: small enough to check byte counts by hand (70 bytes).
pub(crate) const TINY_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Which tools the server lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Tools that behave (or misbehave) in the ways the client must handle.
    Basic,
    /// Tools whose names need sanitizing into `^[a-zA-Z0-9_-]{1,64}$`.
    Names,
}

/// The names the `names` profile lists: spaces, dots, non-ASCII, too long, and two that collide
/// once sanitized.
pub(crate) const ODD_NAMES: &[&str] = &[
    "with space",
    "dotted.name",
    "ünïcödé",
    "a.b",
    "a_b",
    "echo",
    "this-tool-name-is-far-too-long-to-fit-in-sixty-four-characters-once-qualified",
];

/// The server's state: its profile and how many calls were cancelled by the client.
#[derive(Debug, Clone)]
pub(crate) struct TestServer {
    profile: Profile,
    cancelled: Arc<AtomicUsize>,
}

impl TestServer {
    pub(crate) fn new(profile: Profile) -> Self {
        Self {
            profile,
            cancelled: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        match self.profile {
            Profile::Basic => basic_tools(),
            Profile::Names => ODD_NAMES
                .iter()
                .map(|name| Tool::new(*name, format!("the tool named {name:?}"), object_schema()))
                .collect(),
        }
    }

    async fn run(
        &self,
        params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = params.arguments.unwrap_or_default();
        if self.profile == Profile::Names {
            return Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "called {}",
                params.name
            ))]));
        }
        match params.name.as_ref() {
            "echo" => {
                let text = args.get("text").and_then(Value::as_str).unwrap_or_default();
                Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
            }
            "fail" => Ok(CallToolResult::error(vec![ContentBlock::text(
                "the tool failed as asked",
            )])),
            "die" => {
                eprintln!("mcp-test-server: dying mid-call as asked");
                std::process::exit(7);
            }
            "never" => std::future::pending().await,
            "sleep" => self.sleep(&args, ctx).await,
            "cancelled" => Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "{}",
                self.cancelled.load(Ordering::SeqCst)
            ))])),
            "media" => Ok(CallToolResult::success(vec![
                ContentBlock::text("here is a picture"),
                ContentBlock::image(TINY_PNG, "image/png"),
                ContentBlock::resource_link(Resource::new("file:///tmp/notes.txt", "notes")),
                ContentBlock::resource(ResourceContents::text("embedded body", "mem://embedded")),
            ])),
            "structured" => {
                let mut result = CallToolResult::success(vec![]);
                result.structured_content = Some(json!({"answer": 42, "unit": "none"}));
                Ok(result)
            }
            "bad_schema" | "untyped_schema" | "read_only" => {
                Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                    "called {}",
                    params.name
                ))]))
            }
            other => Err(ErrorData::invalid_params(
                format!("no tool named {other}"),
                None,
            )),
        }
    }

    /// Sleeps `ms` milliseconds in 20 ms steps, reporting progress after each step; counts a
    /// cancellation when the client cancels it.
    async fn sleep(
        &self,
        args: &Map<String, Value>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(1000);
        let steps = (ms / 20).max(1);
        let token = ctx.meta.get_progress_token();
        for step in 1..=steps {
            tokio::select! {
                () = ctx.ct.cancelled() => {
                    self.cancelled.fetch_add(1, Ordering::SeqCst);
                    return Err(ErrorData::internal_error("cancelled", None));
                }
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            if let Some(token) = token.clone() {
                #[allow(clippy::cast_precision_loss)]
                let param = ProgressNotificationParam::new(token, step as f64)
                    .with_total(steps as f64)
                    .with_message(format!("step {step}"));
                let _ = ctx.peer.notify_progress(param).await;
            }
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "slept {ms} ms"
        ))]))
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.run(request, context).await.map(CallToolResponse::from)
    }
}

fn object_schema() -> Map<String, Value> {
    schema(json!({"type": "object", "properties": {}}))
}

fn schema(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn basic_tools() -> Vec<Tool> {
    let text_schema = schema(json!({
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }));
    let ms_schema = schema(json!({
        "type": "object",
        "properties": {"ms": {"type": "integer"}},
    }));
    vec![
        Tool::new("echo", "returns its text argument", text_schema)
            .with_annotations(ToolAnnotations::new().read_only(true)),
        Tool::new("fail", "answers with isError", object_schema()),
        Tool::new("die", "exits the server mid-call", object_schema()),
        Tool::new("never", "never answers", object_schema()),
        Tool::new("sleep", "sleeps ms milliseconds with progress", ms_schema),
        Tool::new(
            "cancelled",
            "how many calls were cancelled",
            object_schema(),
        ),
        Tool::new(
            "media",
            "text, an image, a resource link and a resource",
            object_schema(),
        ),
        Tool::new("structured", "structured content only", object_schema()),
        Tool::new(
            "bad_schema",
            "its schema is not an object schema",
            schema(json!({"type": "string"})),
        ),
        Tool::new(
            "untyped_schema",
            "its schema has no type",
            schema(json!({"properties": {"x": {"type": "string"}}})),
        ),
        Tool::new("read_only", "annotated read-only", object_schema())
            .with_annotations(ToolAnnotations::new().read_only(true)),
    ]
}
