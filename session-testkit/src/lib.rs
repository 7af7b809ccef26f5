//! Test support shared by the workspace's crates; a dev-dependency only, never published.
//!
//! - [`MockServer`]: a loopback HTTP/1.1 server playing a model provider, scripted with
//!   [`MockResponse`]s whose bodies the `sse_*` functions render in the Responses, Chat
//!   Completions and Messages wire formats.
//! - [`HandleModel`]: a [`ModelClient`](session_services::ModelClient) the test answers by hand,
//!   request by request, through its [`ModelHandle`]; "while the model is still answering" becomes
//!   a handshake instead of a timed delay.
//! - [`FakeShell`]: a shell that answers commands from a plan and records what it ran.
//!
//! Library crates carry no test servers: what tests of several crates share lives here. This
//! crate must never become a normal dependency of a library or binary (`cargo xtask layering`
//! rejects it), and it holds no assertions of its own about the code under test.
//!
//! # Answering each request as it arrives
//!
//! ```
//! use futures_util::StreamExt;
//! use session_services::{ModelClient, ModelEvent, ModelRequest, ScriptedResponse};
//! use session_state::{ConversationHistory, ResponseItem};
//! use session_testkit::HandleModel;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let request = |text: &str| ModelRequest {
//! #     model: "m".into(),
//! #     instructions: String::new(),
//! #     input: ConversationHistory::from_items([ResponseItem::user_text(text)]).snapshot(),
//! #     tools: Vec::new().into(),
//! #     reasoning: None,
//! #     prompt_cache_key: None,
//! # };
//! let (model, mut handle) = HandleModel::new();
//! // The code under test (a session, given `Arc::new(model)`) makes requests on its own task.
//! let first = request("hello");
//! let second = request("and now?");
//! let client = tokio::spawn(async move {
//!     let one: Vec<_> = model.stream(first).await.unwrap().collect().await;
//!     let two: Vec<_> = model.stream(second).await.unwrap().collect().await;
//!     (one.len(), two.len())
//! });
//!
//! // The first request: answered from a script, as `ScriptedModel` would.
//! handle.play_next(ScriptedResponse::new().text("Hi!", 1)).await.unwrap();
//!
//! // The second: streamed event by event; the client waits as long as the test holds back.
//! let pending = handle.next_request().await.unwrap();
//! assert!(pending.request().input.parsed().any(|i| i.message_text().as_deref() == Some("and now?")));
//! let events = pending.stream();
//! events.send(ModelEvent::OutputTextDelta("thinking".into()));
//! // ... do what must happen while the response is open, then end it.
//! events.complete();
//!
//! assert_eq!(client.await.unwrap(), (4, 2));
//! # }
//! ```

mod fake_shell;
mod handle_model;
mod mcp_server;
mod mock_server;
pub mod npm;

pub use crate::fake_shell::{FakeRun, FakeShell};
pub use crate::handle_model::{EventSender, HandleModel, ModelHandle, PendingRequest};
pub use crate::mcp_server::mcp_test_server;
pub use crate::mock_server::{
    MessagesBlock, MockResponse, MockServer, RecordedRequest, sse_chat_text, sse_chat_tool_call,
    sse_event, sse_messages, sse_messages_text, sse_messages_tool_call, sse_responses_text,
    sse_responses_tool_call,
};
