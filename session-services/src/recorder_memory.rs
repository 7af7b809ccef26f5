//! An in-memory recorder: keeps every recorded line in order, for tests and for sessions that
//! must not touch the disk.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use session_state::HistoryItem;

use crate::recorder::{
    ListFilter, Recorder, RecorderError, ResumedSession, RolloutItem, SessionMeta, SessionSummary,
};

#[derive(Debug, Default)]
struct Inner {
    meta: Option<SessionMeta>,
    lines: Vec<RolloutItem>,
    flushes: usize,
    shut_down: bool,
}

/// Records into memory; `lines()` shows what was recorded.
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    inner: Mutex<Inner>,
}

impl MemoryRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything recorded so far, in order.
    pub fn lines(&self) -> Vec<RolloutItem> {
        self.lock().lines.clone()
    }

    /// The history items recorded so far, in order.
    pub fn history_items(&self) -> Vec<std::sync::Arc<HistoryItem>> {
        self.lock()
            .lines
            .iter()
            .filter_map(|l| match l {
                RolloutItem::ResponseItem(i) => Some(std::sync::Arc::clone(i)),
                _ => None,
            })
            .collect()
    }

    /// How many times `flush` was called.
    pub fn flush_count(&self) -> usize {
        self.lock().flushes
    }

    /// Whether `shutdown` was called.
    pub fn is_shut_down(&self) -> bool {
        self.lock().shut_down
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn memory_path(id: &str) -> PathBuf {
    PathBuf::from(format!("memory://{id}"))
}

#[async_trait::async_trait]
impl Recorder for MemoryRecorder {
    async fn start(&self, meta: SessionMeta) -> Result<PathBuf, RecorderError> {
        let mut inner = self.lock();
        let path = memory_path(&meta.id);
        inner.lines.push(RolloutItem::SessionMeta(meta.clone()));
        inner.meta = Some(meta);
        Ok(path)
    }

    async fn resume(&self, path: &Path) -> Result<ResumedSession, RecorderError> {
        let inner = self.lock();
        let Some(meta) = inner.meta.clone() else {
            return Err(RecorderError::NotFound(path.display().to_string()));
        };
        let mut resumed = ResumedSession {
            path: memory_path(&meta.id),
            meta: Some(meta),
            ..ResumedSession::default()
        };
        for line in &inner.lines {
            match line {
                RolloutItem::ResponseItem(i) => resumed.history.push(std::sync::Arc::clone(i)),
                RolloutItem::Compacted(_) => resumed.history.clear(),
                RolloutItem::Event(e) => {
                    if let session_state::EventMsg::TokenCount { info, .. } = e {
                        resumed.token_info = Some(*info);
                    }
                    resumed.events.push(e.clone());
                }
                RolloutItem::TurnContext(c) => resumed.turn_context = Some(c.clone()),
                RolloutItem::ApprovedCommand(c) => resumed.approved_commands.push(c.clone()),
                RolloutItem::SessionMeta(_) => {}
            }
        }
        Ok(resumed)
    }

    async fn record(&self, items: Vec<RolloutItem>) -> Result<(), RecorderError> {
        let mut inner = self.lock();
        if inner.meta.is_none() || inner.shut_down {
            return Err(RecorderError::NotOpen);
        }
        inner.lines.extend(items);
        Ok(())
    }

    async fn flush(&self) -> Result<(), RecorderError> {
        self.lock().flushes += 1;
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), RecorderError> {
        self.lock().shut_down = true;
        Ok(())
    }

    async fn list(&self, filter: ListFilter) -> Result<Vec<SessionSummary>, RecorderError> {
        let inner = self.lock();
        let Some(meta) = &inner.meta else {
            return Ok(Vec::new());
        };
        if filter.cwd.as_ref().is_some_and(|c| *c != meta.cwd) {
            return Ok(Vec::new());
        }
        let first_user_message = inner.lines.iter().find_map(|l| match l {
            RolloutItem::Event(session_state::EventMsg::UserMessage { message }) => {
                Some(message.clone())
            }
            _ => None,
        });
        Ok(vec![SessionSummary {
            id: meta.id.clone(),
            path: memory_path(&meta.id),
            started_at: meta.timestamp.clone(),
            cwd: meta.cwd.clone(),
            first_user_message,
        }])
    }

    async fn find(&self, id: &str) -> Result<PathBuf, RecorderError> {
        match &self.lock().meta {
            Some(meta) if meta.id.starts_with(id) && !id.is_empty() => Ok(memory_path(&meta.id)),
            _ => Err(RecorderError::NotFound(id.to_owned())),
        }
    }
}
