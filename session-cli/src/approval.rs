//! Approval requests as the terminal front-ends see them: which call asks, how to show the
//! question, how to read the answer (`y`, `a`, `n`, `x`), and how to send the decision back.
//! It never decides on its own: policy lives in the core, auto-denial in the caller.

use std::collections::BTreeMap;
use std::path::PathBuf;

use session_core::{EventMsg, FileChange, ReviewDecision, SessionError, Submitter};

use crate::term::{Style, display_command};

/// What kind of tool call asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A command.
    Exec,
    /// A patch.
    Patch,
}

/// An approval request waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The call asking.
    pub(crate) call_id: String,
    /// Command or patch.
    pub(crate) kind: Kind,
    /// One line saying what would happen: the command, or the files a patch touches.
    pub(crate) what: String,
    /// Where (commands only).
    pub(crate) cwd: Option<PathBuf>,
    /// Why, if the session said.
    pub(crate) reason: Option<String>,
}

impl Pending {
    /// The request in `msg`, if it is one.
    pub(crate) fn from_event(msg: &EventMsg) -> Option<Self> {
        match msg {
            EventMsg::ExecApprovalRequest {
                call_id,
                command,
                cwd,
                reason,
            } => Some(Self {
                call_id: call_id.clone(),
                kind: Kind::Exec,
                what: display_command(command),
                cwd: Some(cwd.clone()),
                reason: reason.clone(),
            }),
            EventMsg::ApplyPatchApprovalRequest {
                call_id,
                changes,
                reason,
            } => Some(Self {
                call_id: call_id.clone(),
                kind: Kind::Patch,
                what: describe_changes(changes),
                cwd: None,
                reason: reason.clone(),
            }),
            _ => None,
        }
    }

    /// The question, several lines, ending with the answer prompt (no newline).
    pub(crate) fn question(&self, style: Style) -> String {
        let mut text = match self.kind {
            Kind::Exec => format!("{}\n  $ {}\n", style.bold("Run this command?"), self.what),
            Kind::Patch => format!("{}\n  {}\n", style.bold("Apply this patch?"), self.what),
        };
        if let Some(cwd) = &self.cwd {
            text.push_str(&format!("  in {}\n", cwd.display()));
        }
        if let Some(reason) = &self.reason {
            text.push_str(&format!("  reason: {reason}\n"));
        }
        text.push_str(&format!(
            "{} ",
            style.cyan("[y] yes  [a] yes, for this session  [n] no  [x] no, and stop the turn >")
        ));
        text
    }

    /// Send `decision` for this request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub(crate) async fn answer(
        &self,
        submitter: &Submitter,
        decision: ReviewDecision,
    ) -> Result<(), SessionError> {
        match self.kind {
            Kind::Exec => submitter.approve_exec(&self.call_id, decision).await?,
            Kind::Patch => submitter.approve_patch(&self.call_id, decision).await?,
        };
        Ok(())
    }

    /// The note printed when the request is denied because nobody can be asked.
    pub(crate) fn auto_denied_note(&self) -> String {
        let what = match self.kind {
            Kind::Exec => format!("command `{}`", self.what),
            Kind::Patch => format!("patch ({})", self.what),
        };
        format!(
            "denied {what}: it needs approval and there is no terminal to ask \
             (use --full-auto to run everything)"
        )
    }
}

/// The user's answer, if `line` is one.
pub(crate) fn parse_decision(line: &str) -> Option<ReviewDecision> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(ReviewDecision::Approved),
        "a" | "always" => Some(ReviewDecision::ApprovedForSession),
        "n" | "no" => Some(ReviewDecision::Denied),
        "x" | "abort" => Some(ReviewDecision::Abort),
        _ => None,
    }
}

/// The decision as words, for the echo after an answer.
pub(crate) fn decision_text(decision: ReviewDecision) -> &'static str {
    match decision {
        ReviewDecision::Approved => "approved",
        ReviewDecision::ApprovedForSession => "approved for this session",
        ReviewDecision::Denied => "denied",
        ReviewDecision::Abort => "denied; stopping the turn",
    }
}

fn describe_changes(changes: &BTreeMap<PathBuf, FileChange>) -> String {
    changes
        .iter()
        .map(|(path, change)| {
            let tag = match change {
                FileChange::Add { .. } => "add",
                FileChange::Delete => "delete",
                FileChange::Update { .. } => "update",
            };
            format!("{tag} {}", path.display())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
