//! A session with your own model, depending on `session-core` alone: prints the answer.
use std::sync::Arc;

use session_core::services::{ModelClient, ModelError, ModelRequest, ModelStream};
use session_core::services::{SessionServices, text_response};
use session_core::{EventMsg, Session, SessionConfig, SessionError};

/// Answers every request by counting the messages it was sent.
struct Counter;

#[session_core::async_trait]
impl ModelClient for Counter {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        Ok(text_response(format!(
            "You sent {} items.",
            request.input.len()
        )))
    }
}

#[session_core::tokio::main(flavor = "current_thread", crate = "session_core::tokio")]
async fn main() -> Result<(), SessionError> {
    let services = SessionServices::builder(Arc::new(Counter)).build();
    let mut session = Session::spawn(SessionConfig::new("counter", "."), services).await?;
    session.user_input("hello").await?;
    while let Some(event) = session.next_event().await {
        match event.msg {
            EventMsg::AgentMessageDelta { delta } => print!("{delta}"),
            EventMsg::TaskComplete { .. } => break,
            _ => {}
        }
    }
    println!();
    session.shutdown().await
}
