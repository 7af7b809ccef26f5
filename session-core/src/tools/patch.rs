//! The `apply_patch` tool: parse, resolve paths inside the working directory, compute the new
//! contents, ask when the policy or the paths require it, apply through the file-system port,
//! and report the turn's diff.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use session_services::{FileSystem, FsError};
use session_state::{
    ActiveTurn, ApprovalKind, AskForApproval, EventMsg, FileChange, ReviewDecision, SandboxPolicy,
    TurnDiffTracker,
};

use super::patch_apply::apply_chunks;
use super::{Hunk, parse_patch, request_approval};
use crate::inner::SessionInner;
use crate::outcome::{Stop, ToolCall};

#[derive(Debug, Deserialize)]
struct PatchArgs {
    input: String,
}

/// One file operation, computed before anything is written.
#[derive(Debug)]
enum Planned {
    Add {
        path: PathBuf,
        content: String,
    },
    Delete {
        path: PathBuf,
        old: String,
    },
    Update {
        path: PathBuf,
        old: String,
        new: String,
        move_to: Option<PathBuf>,
    },
}

pub(super) async fn handle(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
) -> Result<String, Stop> {
    let patch_text = match serde_json::from_str::<PatchArgs>(&call.arguments) {
        Ok(a) => a.input,
        Err(e) => return Ok(format!("invalid arguments for `apply_patch`: {e}")),
    };
    let hunks = match parse_patch(&patch_text) {
        Ok(h) => h,
        Err(e) => return Ok(e.to_string()),
    };
    let ctx = inner.context();
    let fs = Arc::clone(&inner.services.fs);
    let root = match fs.resolve(&normalize(&ctx.cwd)).await {
        Ok(r) => r,
        Err(e) => return Ok(format!("cannot resolve the working directory: {e}")),
    };
    let (planned, targets) = match plan(fs.as_ref(), &ctx.cwd, hunks).await {
        Ok(p) => p,
        Err(message) => return Ok(message),
    };
    let changes = describe(&planned, &ctx.cwd);
    let area = writable_area(fs.as_ref(), &ctx.sandbox_policy, &ctx.cwd, &root, inner).await;
    let outside = targets.iter().any(|t| !area.allows(t));
    let needs_approval = match ctx.approval_policy {
        AskForApproval::Untrusted => true,
        AskForApproval::OnRequest | AskForApproval::OnFailure => outside,
        AskForApproval::Never => {
            if outside {
                return Ok(format!(
                    "patch rejected: it writes {} and the approval policy is `never`",
                    area.describe_outside()
                ));
            }
            false
        }
    };
    if needs_approval {
        let reason = outside.then(|| format!("the patch writes {}", area.describe_outside()));
        let request = EventMsg::ApplyPatchApprovalRequest {
            call_id: call.call_id.clone(),
            changes: changes.clone(),
            reason,
        };
        let summary = changes.keys().map(|p| p.display().to_string()).collect();
        match request_approval(
            inner,
            turn,
            &call.call_id,
            ApprovalKind::Patch,
            request,
            summary,
        )
        .await?
        {
            ReviewDecision::Approved | ReviewDecision::ApprovedForSession => {}
            ReviewDecision::Denied => {
                return Ok("The user rejected this patch; nothing was changed.".to_owned());
            }
            ReviewDecision::Abort => return Err(Stop::AbortRequested),
        }
    }
    let sub_id = turn.sub_id();
    inner.emit_now(
        sub_id,
        EventMsg::PatchApplyBegin {
            call_id: call.call_id.clone(),
            auto_approved: !needs_approval,
            changes,
        },
    );
    let (stdout, stderr, success) = apply(fs.as_ref(), turn, &ctx.cwd, planned).await;
    inner.emit_now(
        sub_id,
        EventMsg::PatchApplyEnd {
            call_id: call.call_id.clone(),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            success,
        },
    );
    if let Some(unified_diff) = turn.with_state(|s| s.diff_tracker().unified_diff()) {
        inner.emit_now(sub_id, EventMsg::TurnDiff { unified_diff });
    }
    Ok(if success {
        stdout
    } else {
        format!("{stdout}{stderr}")
    })
}

/// Resolve every path and compute every new content; returns the plan and every path it
/// writes, as the file system resolves it: the directory entry it replaces (its folder
/// resolved through symlinks) and, when that entry is a symlink, the file it points to.
async fn plan(
    fs: &dyn FileSystem,
    cwd: &Path,
    hunks: Vec<Hunk>,
) -> Result<(Vec<Planned>, Vec<Target>), String> {
    let mut targets = Vec::new();
    let mut out = Vec::with_capacity(hunks.len());
    let cwd_norm = normalize(cwd);
    let mut resolve = async |p: &Path| -> Result<PathBuf, String> {
        let abs = normalize(&cwd.join(p));
        let cannot = |e: FsError| format!("cannot resolve {}: {e}", p.display());
        let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
            return Err(format!("cannot resolve {}: not a file path", p.display()));
        };
        // Writes replace the directory entry (the rename does not follow a final symlink)
        // while old content is read through it, so both places must be allowed.
        let entry = fs.resolve(parent).await.map_err(cannot)?.join(name);
        let real = fs.resolve(&abs).await.map_err(cannot)?;
        let lexically_inside = abs.starts_with(&cwd_norm);
        for real in [entry, real] {
            targets.push(Target {
                real,
                lexically_inside,
            });
        }
        Ok(abs)
    };
    for hunk in hunks {
        match hunk {
            Hunk::Add { path, contents } => {
                let path = resolve(&path).await?;
                out.push(Planned::Add {
                    path,
                    content: contents,
                });
            }
            Hunk::Delete { path } => {
                let path = resolve(&path).await?;
                let old = fs
                    .read_to_string(&path)
                    .await
                    .map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
                out.push(Planned::Delete { path, old });
            }
            Hunk::Update {
                path,
                move_to,
                chunks,
            } => {
                let path = resolve(&path).await?;
                let move_to = match move_to {
                    Some(m) => Some(resolve(&m).await?),
                    None => None,
                };
                let old = fs
                    .read_to_string(&path)
                    .await
                    .map_err(|e| format!("cannot update {}: {e}", path.display()))?;
                let new = if chunks.is_empty() {
                    old.clone()
                } else {
                    apply_chunks(&old, &chunks)
                        .map_err(|e| format!("cannot update {}: {e}", path.display()))?
                };
                out.push(Planned::Update {
                    path,
                    old,
                    new,
                    move_to,
                });
            }
        }
    }
    Ok((out, targets))
}

fn describe(planned: &[Planned], cwd: &Path) -> BTreeMap<PathBuf, FileChange> {
    let shown = |p: &Path| {
        p.strip_prefix(cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.to_path_buf())
    };
    planned
        .iter()
        .map(|p| match p {
            Planned::Add { path, content } => (
                shown(path),
                FileChange::Add {
                    content: content.clone(),
                },
            ),
            Planned::Delete { path, .. } => (shown(path), FileChange::Delete),
            Planned::Update {
                path,
                old,
                new,
                move_to,
            } => {
                let mut tracker = TurnDiffTracker::new(Some(cwd.to_path_buf()));
                tracker.record_change(path, Some(old), Some(new));
                (
                    shown(path),
                    FileChange::Update {
                        unified_diff: tracker.unified_diff().unwrap_or_default(),
                        move_path: move_to.as_deref().map(shown),
                    },
                )
            }
        })
        .collect()
}

async fn apply(
    fs: &dyn FileSystem,
    turn: &ActiveTurn,
    cwd: &Path,
    planned: Vec<Planned>,
) -> (String, String, bool) {
    let mut stdout = String::from("Success. Updated the following files:\n");
    let shown = |p: &Path| p.strip_prefix(cwd).unwrap_or(p).display().to_string();
    for step in planned {
        let result = match &step {
            Planned::Add { path, content } => {
                let before = fs.read_to_string(path).await.ok();
                fs.write(path, content).await.map(|()| {
                    turn.with_state(|s| {
                        s.diff_tracker_mut()
                            .record_change(path, before.as_deref(), Some(content));
                    });
                    format!("A {}\n", shown(path))
                })
            }
            Planned::Delete { path, old } => fs.remove(path).await.map(|()| {
                turn.with_state(|s| s.diff_tracker_mut().record_change(path, Some(old), None));
                format!("D {}\n", shown(path))
            }),
            Planned::Update {
                path,
                old,
                new,
                move_to: None,
            } => fs.write(path, new).await.map(|()| {
                turn.with_state(|s| {
                    s.diff_tracker_mut()
                        .record_change(path, Some(old), Some(new));
                });
                format!("M {}\n", shown(path))
            }),
            Planned::Update {
                path,
                old,
                new,
                move_to: Some(dest),
            } => {
                let moved = match fs.write(dest, new).await {
                    Ok(()) if dest != path => fs.remove(path).await,
                    other => other,
                };
                moved.map(|()| {
                    turn.with_state(|s| s.diff_tracker_mut().record_move(path, dest, old, new));
                    format!("M {} -> {}\n", shown(path), shown(dest))
                })
            }
        };
        match result {
            Ok(line) => stdout.push_str(&line),
            Err(e) => return (stdout, format!("patch failed: {e}\n"), false),
        }
    }
    (stdout, String::new(), true)
}

/// Remove `.` and resolve `..` lexically (the path need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A path a patch writes.
#[derive(Debug)]
struct Target {
    /// Where it really is.
    real: PathBuf,
    /// Whether it names a path inside the working directory as written (no `..` out of it).
    lexically_inside: bool,
}

/// Where a patch may write without asking.
#[derive(Debug)]
enum WritableArea {
    /// Nowhere (`read-only`).
    Nowhere,
    /// Beneath these roots, but never in a `.git` or a protected path.
    Roots {
        roots: Vec<PathBuf>,
        protected: Vec<PathBuf>,
    },
}

impl WritableArea {
    fn allows(&self, target: &Target) -> bool {
        match self {
            Self::Nowhere => false,
            Self::Roots { roots, protected } => {
                let in_root = roots.iter().any(|root| {
                    target
                        .real
                        .strip_prefix(root)
                        .is_ok_and(|rest| !rest.components().any(|c| c.as_os_str() == ".git"))
                });
                // A path that climbs out of the working directory asks unless it lands in
                // another writable root.
                let climbs_out = !target.lexically_inside
                    && roots
                        .first()
                        .is_some_and(|cwd| target.real.starts_with(cwd));
                in_root && !climbs_out && !protected.iter().any(|p| target.real.starts_with(p))
            }
        }
    }

    fn describe_outside(&self) -> &'static str {
        match self {
            Self::Nowhere => "files and the sandbox mode is `read-only`",
            Self::Roots { .. } => {
                "outside the writable roots (or into a `.git` folder or the session home)"
            }
        }
    }
}

/// The writable area of a policy, resolved through the file-system port: the working
/// directory for `danger-full-access` (writes elsewhere still ask), the writable roots of
/// `workspace-write`, nothing for `read-only`.
async fn writable_area(
    fs: &dyn FileSystem,
    policy: &SandboxPolicy,
    cwd: &Path,
    root: &Path,
    inner: &SessionInner,
) -> WritableArea {
    let mut protected = Vec::new();
    for p in &inner.config.protected_paths {
        if let Ok(real) = fs.resolve(&normalize(p)).await {
            protected.push(real);
        }
        protected.push(normalize(p));
    }
    let mut roots = vec![root.to_path_buf()];
    match policy {
        SandboxPolicy::ReadOnly => return WritableArea::Nowhere,
        SandboxPolicy::DangerFullAccess => {}
        SandboxPolicy::WorkspaceWrite {
            writable_roots,
            exclude_tmp,
            ..
        } => {
            let mut extra: Vec<PathBuf> = writable_roots
                .iter()
                .map(|r| normalize(&cwd.join(r)))
                .collect();
            if !exclude_tmp {
                if let Some(tmpdir) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
                    extra.push(normalize(Path::new(&tmpdir)));
                }
                extra.push(PathBuf::from("/tmp"));
            }
            for path in extra {
                if let Ok(real) = fs.resolve(&path).await {
                    roots.push(real);
                }
            }
        }
    }
    WritableArea::Roots { roots, protected }
}
