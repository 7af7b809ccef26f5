//! The generated side of the state-machine test: what a case is (the model's responses, the
//! user's operations, how the user answers approval requests) and the proptest strategies that
//! produce it. Plain data and strategies only; running a case lives in `run.rs`.

use proptest::prelude::*;
use session_core::{AskForApproval, ReviewDecision};

/// An approval policy the session may run under (the three a user switches between).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    Untrusted,
    OnRequest,
    Never,
}

impl Policy {
    pub(crate) fn ask(self) -> AskForApproval {
        match self {
            Policy::Untrusted => AskForApproval::Untrusted,
            Policy::OnRequest => AskForApproval::OnRequest,
            Policy::Never => AskForApproval::Never,
        }
    }
}

/// A command the model asks the `shell` tool to run; `run.rs` turns it into an argv for the
/// fake or the real shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// Known read-only (`echo`, `true`): never asks.
    Safe,
    /// Known read-only and exits 1 (`false`).
    SafeFail,
    /// Not known to be safe: asks under `untrusted`; runs a short real process group.
    Unsafe,
    /// Not known to be safe and takes a little while.
    Slow,
    /// Runs until the turn is interrupted.
    Hang,
    /// A program that does not exist: the shell fails to start it.
    Missing,
}

/// A patch the model asks `apply_patch` to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// Adds a file inside the working directory.
    AddInside,
    /// Adds a file outside the working directory (asks under `on-request`, refused under `never`).
    AddOutside,
    /// Updates a file that does not exist (the tool reports the failure to the model).
    UpdateMissing,
    /// Not a patch at all.
    Garbage,
}

/// One step of a scripted model response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Text {
        words: u8,
        deltas: u8,
    },
    Reasoning {
        words: u8,
        deltas: u8,
    },
    Shell(Cmd),
    Patch(PatchKind),
    /// A tool call repeating the call id of the response's previous call (the core drops it).
    RepeatCallId,
    /// A tool call reusing the call id of an earlier response's call (already answered).
    ReuseEarlierCallId,
    /// A call of a tool that does not exist.
    UnknownTool,
    /// A `shell` call whose arguments do not fit the schema.
    BadShellArgs,
    Delay(u8),
    Usage(u16, u16),
    Error {
        retryable: bool,
    },
    Disconnect,
}

/// One operation the user submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserOp {
    Input(u8),
    /// `user_turn`: input with a context that becomes the default (an unsupported sandbox is
    /// refused with one `error`, and the input with it).
    UserTurn {
        words: u8,
        policy: Policy,
        bad_sandbox: bool,
    },
    GetPath,
    EmptyInput,
    Interrupt,
    Compact,
    Override(Policy),
    /// An override to a sandbox the session does not support: one `error`.
    BadSandbox,
    /// A decision for an approval request already seen (pending, answered or finished).
    DecideSeen {
        pick: u8,
        decision: ReviewDecision,
        other_kind: bool,
    },
    /// A decision for a call id that never asked.
    DecideUnknown(ReviewDecision),
    /// Wait (a little) for the running turn to end.
    Settle,
}

/// How the user answers one approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Decide(ReviewDecision),
    /// Leave it waiting (until an interrupt or the shutdown answers it).
    Ignore,
    /// Answer twice: the second must be refused with an `error`.
    Twice(ReviewDecision, ReviewDecision),
    /// First answer with the other kind (refused), then with the right one.
    WrongKindFirst(ReviewDecision),
}

/// An answer and the pause before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) answer: Answer,
    pub(crate) delay_ms: u8,
}

/// One generated case.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// Real processes (`ProcessShell`) instead of the fake shell.
    pub(crate) real_shell: bool,
    pub(crate) policy: Policy,
    /// Compact automatically above a small token count.
    pub(crate) auto_compact: bool,
    pub(crate) responses: Vec<Vec<Step>>,
    /// Operations with the pause (ms) before each; `shutdown` follows the last.
    pub(crate) ops: Vec<(u8, UserOp)>,
    /// Answers to approval requests, in request order, cycling.
    pub(crate) replies: Vec<Reply>,
}

impl Case {
    /// Whether the user ever changes the approval policy.
    pub(crate) fn overrides_policy(&self) -> bool {
        self.ops
            .iter()
            .any(|(_, op)| matches!(op, UserOp::Override(_) | UserOp::UserTurn { .. }))
    }
}

/// Words of generated text, some of them multi-byte so deltas split inside characters' runs.
pub(crate) const WORDS: [&str; 8] = [
    "alpha",
    "beta",
    "gamma",
    "ünïcödé",
    "delta",
    "🙂",
    "epsilon",
    "zeta",
];

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        3 => Just(Policy::Untrusted),
        1 => Just(Policy::OnRequest),
        1 => Just(Policy::Never),
    ]
}

fn decision() -> impl Strategy<Value = ReviewDecision> {
    prop_oneof![
        4 => Just(ReviewDecision::Approved),
        1 => Just(ReviewDecision::ApprovedForSession),
        2 => Just(ReviewDecision::Denied),
        1 => Just(ReviewDecision::Abort),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        3 => Just(Cmd::Safe),
        1 => Just(Cmd::SafeFail),
        3 => Just(Cmd::Unsafe),
        1 => Just(Cmd::Slow),
        1 => Just(Cmd::Hang),
        1 => Just(Cmd::Missing),
    ]
}

fn patch() -> impl Strategy<Value = PatchKind> {
    prop_oneof![
        2 => Just(PatchKind::AddInside),
        1 => Just(PatchKind::AddOutside),
        1 => Just(PatchKind::UpdateMissing),
        1 => Just(PatchKind::Garbage),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (1..6u8, 1..5u8).prop_map(|(words, deltas)| Step::Text { words, deltas }),
        2 => (1..4u8, 1..3u8).prop_map(|(words, deltas)| Step::Reasoning { words, deltas }),
        6 => cmd().prop_map(Step::Shell),
        2 => patch().prop_map(Step::Patch),
        1 => Just(Step::RepeatCallId),
        1 => Just(Step::ReuseEarlierCallId),
        1 => Just(Step::UnknownTool),
        1 => Just(Step::BadShellArgs),
        4 => (0..=20u8).prop_map(Step::Delay),
        2 => (1..200u16, 1..100u16).prop_map(|(i, o)| Step::Usage(i, o)),
        1 => any::<bool>().prop_map(|retryable| Step::Error { retryable }),
        1 => Just(Step::Disconnect),
    ]
}

fn user_op() -> impl Strategy<Value = UserOp> {
    prop_oneof![
        6 => (1..5u8).prop_map(UserOp::Input),
        2 => (1..5u8, policy(), prop::bool::weighted(0.2)).prop_map(
            |(words, policy, bad_sandbox)| UserOp::UserTurn { words, policy, bad_sandbox }
        ),
        1 => Just(UserOp::GetPath),
        1 => Just(UserOp::EmptyInput),
        3 => Just(UserOp::Interrupt),
        2 => Just(UserOp::Compact),
        2 => policy().prop_map(UserOp::Override),
        1 => Just(UserOp::BadSandbox),
        3 => (any::<u8>(), decision(), prop::bool::weighted(0.2)).prop_map(
            |(pick, decision, other_kind)| UserOp::DecideSeen { pick, decision, other_kind }
        ),
        1 => decision().prop_map(UserOp::DecideUnknown),
        3 => Just(UserOp::Settle),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    let answer = prop_oneof![
        8 => decision().prop_map(Answer::Decide),
        2 => Just(Answer::Ignore),
        1 => (decision(), decision()).prop_map(|(a, b)| Answer::Twice(a, b)),
        1 => decision().prop_map(Answer::WrongKindFirst),
    ];
    (answer, 0..=15u8).prop_map(|(answer, delay_ms)| Reply { answer, delay_ms })
}

/// The strategy of whole cases.
pub(crate) fn case() -> impl Strategy<Value = Case> {
    let responses = prop::collection::vec(prop::collection::vec(step(), 1..5), 2..10);
    let first = (0..=20u8, (1..5u8).prop_map(UserOp::Input));
    let rest = prop::collection::vec((0..=20u8, user_op()), 0..10);
    let ops = (first, rest).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    });
    (
        prop::bool::weighted(0.1),
        policy(),
        prop::bool::weighted(0.15),
        responses,
        ops,
        prop::collection::vec(reply(), 1..6),
    )
        .prop_map(
            |(real_shell, policy, auto_compact, responses, ops, replies)| Case {
                real_shell,
                policy,
                auto_compact,
                responses,
                ops,
                replies,
            },
        )
}
