//! A mocked approval test: the model asks for a command, the user denies it, it never runs.
use session_core::mocks::{MockShell, ScriptedModel, ScriptedResponse};
use session_core::services::SessionServices;
use session_core::{AskForApproval, EventMsg, ReviewDecision};
use session_core::{Session, SessionConfig, SessionError};
use std::sync::Arc;

#[session_core::tokio::test(crate = "session_core::tokio")]
async fn a_denied_command_never_reaches_the_shell() -> Result<(), SessionError> {
    let model = ScriptedModel::new([
        ScriptedResponse::new().shell_call("c1", &["rm", "-rf", "build"]),
        ScriptedResponse::new().text("Understood.", 1),
    ]);
    let mut shell = MockShell::new();
    shell.expect_run().never();
    let services = SessionServices::builder(Arc::new(model))
        .shell(Arc::new(shell))
        .build();
    let mut config = SessionConfig::new("scripted", ".");
    config.approval_policy = Some(AskForApproval::Untrusted);
    let mut session = Session::spawn(config, services).await?;
    session.user_input("clean up").await?;
    while let Some(event) = session.next_event().await {
        match event.msg {
            EventMsg::ExecApprovalRequest { call_id, .. } => {
                session
                    .approve_exec(call_id, ReviewDecision::Denied)
                    .await?;
            }
            EventMsg::TaskComplete { last_agent_message } => {
                assert_eq!(last_agent_message.as_deref(), Some("Understood."));
                break;
            }
            _ => {}
        }
    }
    session.shutdown().await
}
