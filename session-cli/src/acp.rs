//! `session acp`: the Agent Client Protocol on stdin and stdout, for editors (Zed and any ACP
//! client).
//!
//! The host is `session-acp`'s; this module gives it sessions built from the configuration
//! (each with the client's working directory and MCP servers beside the configured ones) and
//! the stdio transport: lines read with the same 16 MiB bound as `proto`, every message
//! written and flushed as one line. Nothing but protocol messages reaches stdout; notes go to
//! stderr.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use session_acp::acp::Lines;
use session_acp::{AgentInfo, LoadError, SessionFactory, SessionSetup};
use session_core::Session;
use session_core::services::{ListFilter, Recorder, SandboxSupport};
use tokio::io::{AsyncWriteExt, BufReader};

use crate::app::{Env, Outcome};
use crate::config::Settings;
use crate::proto::lines::{BoundedLines, Line, MAX_LINE};
use crate::term::note;

/// Sessions as the configuration says, in the directory the client names.
struct CliFactory {
    settings: Settings,
    home: PathBuf,
}

impl CliFactory {
    fn prepare(
        &self,
        setup: &SessionSetup,
    ) -> Result<(
        session_core::SessionConfig,
        session_core::services::SessionServices,
    )> {
        let mut services = crate::services::build(&self.settings, &self.home)?;
        if let Some(fs) = &setup.fs {
            services.fs = fs.clone();
        }
        let enforced = services.sandbox.support().is_enforced();
        let mut config = self
            .settings
            .session_config(&setup.cwd, &self.home, enforced);
        config.session_id = Some(setup.session_id.clone());
        // The client's servers join the configured ones; on a name clash the client's wins,
        // as it is the more specific.
        config.mcp_servers.extend(setup.mcp_servers.clone());
        Ok((config, services))
    }
}

#[session_core::async_trait]
impl SessionFactory for CliFactory {
    async fn start(&self, setup: SessionSetup) -> Result<Session, String> {
        let (config, services) = self.prepare(&setup).map_err(|e| format!("{e:#}"))?;
        Session::spawn(config, services)
            .await
            .map_err(|e| e.to_string())
    }

    async fn load(&self, setup: SessionSetup) -> Result<Session, LoadError> {
        let found = crate::services::recorder(&self.home)
            .list(ListFilter::default())
            .await
            .map_err(|e| LoadError::Failed(e.to_string()))?
            .into_iter()
            .find(|s| s.id == setup.session_id)
            .ok_or_else(|| LoadError::NotFound(setup.session_id.clone()))?;
        let (config, services) = self
            .prepare(&setup)
            .map_err(|e| LoadError::Failed(format!("{e:#}")))?;
        Session::resume(config, services, &found.path)
            .await
            .map_err(|e| LoadError::Failed(e.to_string()))
    }

    fn models(&self) -> Vec<String> {
        self.settings.offered_models()
    }
}

/// Serve ACP on stdio until the client closes stdin; every session is then shut down.
///
/// # Errors
///
/// When the model client cannot be set up, or stdio fails.
pub(crate) async fn run(settings: Settings, env: &Env) -> Result<Outcome> {
    // Fail at once on a configuration that cannot make sessions (a missing key, say).
    crate::services::model_client(&settings)?;
    if let SandboxSupport::Unavailable { reason } = crate::services::sandbox().support() {
        note(&format!(
            "warning: commands cannot be sandboxed here ({reason}); they run unconfined"
        ));
    }
    let factory = Arc::new(CliFactory {
        settings,
        home: env.home.clone(),
    });
    let incoming = futures_util::stream::unfold(
        BoundedLines::new(
            BufReader::with_capacity(64 * 1024, tokio::io::stdin()),
            MAX_LINE,
        ),
        |mut lines| async move {
            let line = match lines.next_line().await {
                Ok(Some(Line::Complete(bytes))) => {
                    Ok(String::from_utf8(bytes).unwrap_or_else(|e| {
                        // Not UTF-8, so not JSON: the client gets a parse error.
                        String::from_utf8_lossy(e.as_bytes()).into_owned()
                    }))
                }
                Ok(Some(Line::TooLong)) => {
                    note(&format!(
                        "acp: skipped an input line longer than {} MiB",
                        MAX_LINE / (1024 * 1024)
                    ));
                    // Answered as what it is to a JSON-RPC peer: unparsable.
                    Ok("\u{1}line too long".to_owned())
                }
                Ok(None) => return None,
                Err(e) => Err(e),
            };
            Some((line, lines))
        },
    );
    let outgoing = futures_util::sink::unfold(
        tokio::io::BufWriter::with_capacity(64 * 1024, tokio::io::stdout()),
        |mut out, line: String| async move {
            out.write_all(line.as_bytes()).await?;
            out.write_all(b"\n").await?;
            out.flush().await?;
            Ok::<_, std::io::Error>(out)
        },
    );
    let info = AgentInfo {
        name: "session".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    session_acp::serve(
        factory,
        info,
        Lines::new(Box::pin(outgoing), Box::pin(incoming)),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("the ACP connection failed")?;
    Ok(Outcome::Done)
}
