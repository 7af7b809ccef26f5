//! Secrets out of everything that leaves the session: events, recording lines, history (hence
//! model requests). The values come from `session_services::secrets`; this module only knows
//! which of our types to walk and keeps deltas cheap.

use session_services::RolloutItem;
use session_services::secrets;
use session_state::{EventMsg, ResponseItem};

/// An event as it may leave the session.
pub(crate) fn event(msg: EventMsg) -> EventMsg {
    match msg {
        // Deltas are many and small: redact their one field without re-encoding.
        EventMsg::AgentMessageDelta { mut delta } => {
            secrets::redact_string(&mut delta);
            EventMsg::AgentMessageDelta { delta }
        }
        EventMsg::AgentReasoningDelta { mut delta } => {
            secrets::redact_string(&mut delta);
            EventMsg::AgentReasoningDelta { delta }
        }
        EventMsg::ExecCommandOutputDelta {
            call_id,
            stream,
            mut chunk,
        } => {
            secrets::redact_bytes(&mut chunk);
            EventMsg::ExecCommandOutputDelta {
                call_id,
                stream,
                chunk,
            }
        }
        other => secrets::redact_value(other).unwrap_or_else(withheld),
    }
}

/// What stands in for an event that held a secret it could not be rebuilt without.
fn withheld() -> EventMsg {
    EventMsg::Error {
        message: "an event was withheld: it held a secret".to_owned(),
    }
}

/// A recording line as it may be written. History items were redacted when they entered
/// history (their JSON is cached from then on).
pub(crate) fn line(item: RolloutItem) -> RolloutItem {
    match item {
        RolloutItem::Event(msg) => RolloutItem::Event(event(msg)),
        RolloutItem::SessionMeta(meta) => secrets::redact_value(meta)
            .map_or_else(|| RolloutItem::Event(withheld()), RolloutItem::SessionMeta),
        RolloutItem::Compacted(c) => secrets::redact_value(c)
            .map_or_else(|| RolloutItem::Event(withheld()), RolloutItem::Compacted),
        RolloutItem::TurnContext(c) => secrets::redact_value(c)
            .map_or_else(|| RolloutItem::Event(withheld()), RolloutItem::TurnContext),
        RolloutItem::ApprovedCommand(argv) => secrets::redact_value(argv).map_or_else(
            || RolloutItem::Event(withheld()),
            RolloutItem::ApprovedCommand,
        ),
        other => other,
    }
}

/// A history item as it may be kept and sent to the model.
pub(crate) fn item(item: ResponseItem) -> ResponseItem {
    let call_id = item.call_id().map(str::to_owned);
    secrets::redact_value(item).unwrap_or_else(|| match call_id {
        // Keep the call answered, so history stays well formed.
        Some(call_id) => ResponseItem::FunctionCallOutput {
            call_id,
            output: "[withheld: it held a secret]".to_owned(),
        },
        None => ResponseItem::Message {
            id: None,
            role: "user".to_owned(),
            content: vec![session_state::ContentItem::InputText {
                text: "[withheld: it held a secret]".to_owned(),
            }],
        },
    })
}
