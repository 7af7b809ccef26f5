//! Things going wrong, through the façade: model failures (final, retried, retries exhausted,
//! script exhausted), sandbox modes that do not exist yet, plus `get_path` and notifications.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use session_core::services::mocks::MockNotifier;
use session_core::services::{FakeSandbox, Notification, ScriptedResponse, SessionServices};
use session_core::{
    AskForApproval, EventMsg, InputItem, Op, ReviewDecision, SandboxPolicy, Session, SessionError,
    TurnContextOverride,
};
use session_testkit::FakeShell;

use crate::support::{Harness, Ports, config, eventually};

#[tokio::test]
async fn a_final_model_failure_reports_an_error_then_completes_and_the_next_input_works() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().text("part", 1).error("boom", false),
            ScriptedResponse::new().text("recovered", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("first").await.unwrap();
    let err = h.until("error").await;
    assert!(
        matches!(&err.msg, EventMsg::Error { message } if message.contains("boom")),
        "{err:?}"
    );
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: None
        }
    );
    assert!(
        h.seen("stream_error").is_empty(),
        "a final failure is not retried"
    );
    assert_eq!(h.model.requests().len(), 1);

    h.session.user_input("second").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("recovered".into())
        }
    );
    insta::assert_snapshot!("model_failure", h.finish().await);
}

#[tokio::test(start_paused = true)]
async fn broken_streams_are_retried_with_stream_errors_until_one_succeeds() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new()
                .text("lost ", 1)
                .error("connection reset", true),
            ScriptedResponse::new().disconnect(),
            ScriptedResponse::new().text("finally", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("hello").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("finally".into())
        }
    );
    assert_eq!(h.seen("stream_error").len(), 2);
    assert!(h.seen("error").is_empty());
    assert_eq!(h.model.requests().len(), 3);
    // A retried request sends the same history: nothing of a broken response was kept.
    let requests = h.model.requests();
    assert_eq!(
        requests[2].input.to_json_array(),
        requests[0].input.to_json_array()
    );
    insta::assert_snapshot!("stream_retries", h.finish().await);
}

#[tokio::test(start_paused = true)]
async fn when_retries_run_out_the_turn_reports_an_error_and_completes() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().disconnect(),
            ScriptedResponse::new().error("reset 2", true),
            ScriptedResponse::new().error("reset 3", true),
            ScriptedResponse::new().text("not reached", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("hello").await.unwrap();
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TaskComplete { .. }));
    assert_eq!(
        h.seen("stream_error").len(),
        2,
        "stream_max_retries is 2 in the test config"
    );
    let errors = h.seen("error");
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0].msg, EventMsg::Error { message } if message.contains("reset 3")),
        "{errors:?}"
    );
    assert_eq!(h.model.requests().len(), 3);
    assert_eq!(h.model.remaining(), 1);
    insta::assert_snapshot!("stream_retries_exhausted", h.finish().await);
}

#[tokio::test]
async fn a_script_that_runs_out_gives_an_error_event() {
    let mut h = Harness::start(
        vec![ScriptedResponse::new().shell_call("c1", &["ls"])],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("go").await.unwrap();
    let err = h.until("error").await;
    assert!(
        matches!(&err.msg, EventMsg::Error { message } if message.contains("no response left")),
        "{err:?}"
    );
    h.until_turn_ends().await;
    insta::assert_snapshot!("script_exhausted", h.finish().await);
}

#[tokio::test]
async fn a_sandbox_mode_that_cannot_be_enforced_is_refused_at_spawn() {
    for (policy, name) in [
        (SandboxPolicy::ReadOnly, "read-only"),
        (
            SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![],
                network_access: false,
                exclude_tmp: false,
            },
            "workspace-write",
        ),
    ] {
        let mut cfg = config(AskForApproval::Never);
        cfg.sandbox_policy = Some(policy);
        let model = Arc::new(session_core::services::ScriptedModel::new([]));
        let services = SessionServices::builder(model)
            .sandbox(Arc::new(FakeSandbox::unavailable(
                "no landlock in this test",
            )))
            .build();
        let err = Session::spawn(cfg, services).await.unwrap_err();
        assert!(
            matches!(&err, SessionError::SandboxUnavailable { mode, reason }
                if mode == name && reason == "no landlock in this test"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn an_unsupported_sandbox_in_override_or_user_turn_is_an_error_and_changes_nothing() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["make"]),
            ScriptedResponse::new().text("ran it", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    let o = h
        .session
        .submit(Op::OverrideTurnContext(TurnContextOverride {
            approval_policy: Some(AskForApproval::Untrusted),
            sandbox_policy: Some(SandboxPolicy::ReadOnly),
            model: Some("other-model".into()),
            ..TurnContextOverride::default()
        }))
        .await
        .unwrap();
    let err = h.until("error").await;
    assert_eq!(err.id, o);
    assert!(
        matches!(&err.msg, EventMsg::Error { message } if message.contains("read-only")),
        "{err:?}"
    );
    let t = h
        .session
        .submit(Op::UserTurn {
            items: vec![InputItem::Text {
                text: "in a sandbox".into(),
            }],
            cwd: PathBuf::from("/elsewhere"),
            approval_policy: AskForApproval::Untrusted,
            sandbox_policy: SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![],
                network_access: false,
                exclude_tmp: false,
            },
            model: "other-model".into(),
            effort: None,
            summary: None,
        })
        .await
        .unwrap();
    let err = h.until("error").await;
    assert_eq!(err.id, t);
    assert!(
        matches!(&err.msg, EventMsg::Error { message } if message.contains("workspace-write")),
        "{err:?}"
    );

    h.session.user_input("build").await.unwrap();
    h.until_turn_ends().await;
    assert!(
        h.seen("exec_approval_request").is_empty(),
        "the policy is still `never`: the command runs unasked"
    );
    assert_eq!(h.shell.runs(), vec![vec!["make".to_owned()]]);
    let begin = h.seen("exec_command_begin")[0].msg.clone();
    assert!(
        matches!(&begin, EventMsg::ExecCommandBegin { cwd, .. } if cwd == &PathBuf::from("/work/project")),
        "{begin:?}"
    );
    for r in h.model.requests() {
        assert_eq!(r.model, "test-model");
    }
    insta::assert_snapshot!("unsupported_sandbox_changes_nothing", h.finish().await);
}

#[tokio::test]
async fn get_path_answers_with_the_conversation_path() {
    let mut h = Harness::start(vec![], AskForApproval::Never).await;
    let id = h.session.submit(Op::GetPath).await.unwrap();
    let answer = h.until("conversation_path").await;
    assert_eq!(answer.id, id);
    assert_eq!(
        answer.msg,
        EventMsg::ConversationPath {
            conversation_id: "session-1".into(),
            path: h.session.rollout_path().to_path_buf(),
        }
    );
    insta::assert_snapshot!("get_path", h.finish().await);
}

#[tokio::test]
async fn the_notifier_hears_approval_requests_and_completed_turns() {
    let heard: Arc<Mutex<Vec<Notification>>> = Arc::default();
    let mut notifier = MockNotifier::new();
    let log = heard.clone();
    notifier
        .expect_notify()
        .withf(|n| matches!(n, Notification::ApprovalRequested { .. }))
        .times(1)
        .returning(move |n| log.lock().unwrap().push(n.clone()));
    let log = heard.clone();
    notifier
        .expect_notify()
        .withf(|n| matches!(n, Notification::AgentTurnComplete { .. }))
        .times(1)
        .returning(move |n| log.lock().unwrap().push(n.clone()));
    let ports = Ports {
        notifier: Some(Arc::new(notifier)),
        shell: Some(FakeShell::with(&[])),
        ..Ports::default()
    };
    let mut h = Harness::start_with_services(
        vec![
            ScriptedResponse::new().shell_call("c1", &["make"]),
            ScriptedResponse::new().text("built", 1),
        ],
        config(AskForApproval::Untrusted),
        ports,
    )
    .await;
    h.session.user_input("build it").await.unwrap();
    h.until("exec_approval_request").await;
    eventually("the approval request is notified", || {
        !heard.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        heard.lock().unwrap()[0],
        Notification::ApprovalRequested {
            thread_id: "session-1".into(),
            turn_id: "sub-1".into(),
            cwd: "/work/project".into(),
            call_id: "c1".into(),
            command: vec!["make".into()],
        }
    );
    h.session
        .approve_exec("c1", ReviewDecision::Approved)
        .await
        .unwrap();
    h.until_turn_ends().await;
    h.finish().await;
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert_eq!(
        heard[1],
        Notification::AgentTurnComplete {
            thread_id: "session-1".into(),
            turn_id: "sub-1".into(),
            cwd: "/work/project".into(),
            input_messages: vec!["build it".into()],
            last_assistant_message: Some("built".into()),
        }
    );
}
