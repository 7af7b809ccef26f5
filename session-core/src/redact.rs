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
        other => secrets::redact_value(other),
    }
}

/// A recording line as it may be written. History items were redacted when they entered
/// history (their JSON is cached from then on).
pub(crate) fn line(item: RolloutItem) -> RolloutItem {
    match item {
        RolloutItem::Event(msg) => RolloutItem::Event(event(msg)),
        RolloutItem::SessionMeta(meta) => RolloutItem::SessionMeta(secrets::redact_value(meta)),
        RolloutItem::Compacted(c) => RolloutItem::Compacted(secrets::redact_value(c)),
        RolloutItem::TurnContext(c) => RolloutItem::TurnContext(secrets::redact_value(c)),
        RolloutItem::ApprovedCommand(argv) => {
            RolloutItem::ApprovedCommand(secrets::redact_value(argv))
        }
        other => other,
    }
}

/// A history item as it may be kept and sent to the model.
pub(crate) fn item(item: ResponseItem) -> ResponseItem {
    secrets::redact_value(item)
}
