//! Security properties of the real binary: API keys never leak (recordings, terminal, error
//! messages, panics), recordings stay private whatever the umask, the default `untrusted` policy
//! never runs an unknown command unasked, an approval answers only a request waiting in the
//! current turn, and a patch cannot write outside the working directory unless approved.
//!
//! Every check has a positive control (the key was sent, the safe command ran, the patch inside
//! the directory applied), so none can pass by nothing happening.

mod approvals;
mod patch;
mod secrets;

use session_core::Event;

/// The `call_id` of an event that has one.
fn call_id(event: &Event) -> Option<String> {
    serde_json::to_value(&event.msg).ok()?["call_id"]
        .as_str()
        .map(str::to_owned)
}

/// The call ids of the events of kind `kind_name`.
fn call_ids_of(events: &[Event], kind_name: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.msg.kind() == kind_name)
        .filter_map(call_id)
        .collect()
}
