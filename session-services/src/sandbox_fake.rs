//! A sandbox for tests of the approval logic: it reports what it is told and recognizes a
//! denial by a fixed marker, so a fake shell can play a command the sandbox stopped.
//!
//! It confines nothing itself; pair it with a shell that honours (or fakes) `ExecSandbox`.

use crate::sandbox::{Sandbox, SandboxSupport};
use crate::shell::{ExecEnd, ExecOutput};

/// A sandbox that says what it is told.
#[derive(Debug, Clone)]
pub struct FakeSandbox {
    support: SandboxSupport,
}

impl FakeSandbox {
    /// What a fake shell prints to play a command the sandbox stopped.
    pub const DENIAL: &'static str = "fake sandbox: operation denied";

    /// A sandbox that reports confinement as enforced.
    pub fn enforcing() -> Self {
        Self {
            support: SandboxSupport::Enforced {
                description: "fake sandbox".to_owned(),
            },
        }
    }

    /// A sandbox that reports confinement as unavailable, for the reason given.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            support: SandboxSupport::Unavailable {
                reason: reason.into(),
            },
        }
    }
}

impl Sandbox for FakeSandbox {
    fn support(&self) -> SandboxSupport {
        self.support.clone()
    }

    fn denied(&self, output: &ExecOutput) -> bool {
        output.end == ExecEnd::Exited
            && output.exit_code != 0
            && output.aggregated_output.contains(Self::DENIAL)
    }
}
