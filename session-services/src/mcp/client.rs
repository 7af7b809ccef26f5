//! Our side of an MCP connection: what we tell servers about ourselves, and the routing of their
//! progress notifications to the call waiting for them.
//!
//! We offer servers no capabilities (no sampling, roots or elicitation), so nothing here answers
//! a server's request. It must never block the connection: notifications are handed off through
//! unbounded channels under a lock held only for the hand-off.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam, ProgressToken,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use tokio::sync::mpsc;

/// Progress notifications kept for tokens nobody listens to yet (a call registers its token
/// only once its request is queued; the server may be quicker).
const EARLY_PROGRESS: usize = 64;

/// One progress notification: done so far, the total when known, and a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Progress {
    pub(crate) progress: f64,
    pub(crate) total: Option<f64>,
    pub(crate) message: Option<String>,
}

#[derive(Default)]
struct Routes {
    live: HashMap<ProgressToken, mpsc::UnboundedSender<Progress>>,
    early: VecDeque<(ProgressToken, Progress)>,
}

/// Where each call's progress goes, by progress token.
#[derive(Clone, Default)]
pub(crate) struct ProgressRoutes(Arc<Mutex<Routes>>);

impl ProgressRoutes {
    fn deliver(&self, token: ProgressToken, progress: Progress) {
        let mut routes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = routes.live.get(&token) {
            let _ = tx.send(progress);
            return;
        }
        routes.early.push_back((token, progress));
        if routes.early.len() > EARLY_PROGRESS {
            routes.early.pop_front();
        }
    }

    /// Routes `token`'s progress to the returned receiver (what arrived early first) until the
    /// route is dropped.
    pub(crate) fn register(&self, token: ProgressToken) -> Route {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut routes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let early = std::mem::take(&mut routes.early);
        for (t, progress) in early {
            if t == token {
                let _ = tx.send(progress);
            } else {
                routes.early.push_back((t, progress));
            }
        }
        routes.live.insert(token.clone(), tx);
        Route {
            routes: self.clone(),
            token,
            rx,
        }
    }
}

/// One call's progress, until it is dropped.
pub(crate) struct Route {
    routes: ProgressRoutes,
    token: ProgressToken,
    pub(crate) rx: mpsc::UnboundedReceiver<Progress>,
}

impl Drop for Route {
    fn drop(&mut self) {
        let mut routes = self.routes.0.lock().unwrap_or_else(PoisonError::into_inner);
        routes.live.remove(&self.token);
    }
}

/// The rmcp client handler of one server's connection.
#[derive(Clone, Default)]
pub(crate) struct Handler {
    routes: ProgressRoutes,
}

impl Handler {
    pub(crate) fn routes(&self) -> ProgressRoutes {
        self.routes.clone()
    }
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("session-runtime", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.routes.deliver(
            params.progress_token,
            Progress {
                progress: params.progress,
                total: params.total,
                message: params.message,
            },
        );
    }
}
