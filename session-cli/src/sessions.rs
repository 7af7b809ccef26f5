//! Recorded sessions: listing them (`session sessions`) and choosing the one to resume
//! (`--last`, an id or a unique id prefix). It only reads recordings; it must never start a
//! fresh session when the one asked for is missing.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use session_core::services::{ListFilter, Recorder, RecorderError, SessionSummary};

use crate::app::Env;
use crate::args::ResumeArgs;
use crate::term;

/// Which recording `resume` continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    /// The newest one, of the current directory unless `all`.
    Last {
        /// Any directory.
        all: bool,
    },
    /// A session id or a unique prefix of one.
    Id(String),
}

/// The selector and the optional prompt of `resume`'s arguments.
///
/// # Errors
///
/// When neither `--last` nor an id is given, or there are too many words.
pub(crate) fn selector(args: &ResumeArgs) -> Result<(Selector, Option<String>)> {
    let mut words = args.words.iter().cloned();
    if args.last {
        let prompt = words.next();
        if words.next().is_some() {
            bail!("with --last, give at most one argument: the prompt");
        }
        return Ok((Selector::Last { all: args.all }, prompt));
    }
    let Some(id) = words.next() else {
        bail!("say which session to resume: `session resume --last` or `session resume ID`");
    };
    Ok((Selector::Id(id), words.next()))
}

/// The recording `selector` names.
///
/// # Errors
///
/// When none matches (a clear message saying so), or the recordings cannot be read.
pub(crate) async fn find(env: &Env, selector: &Selector) -> Result<SessionSummary> {
    let recorder = crate::services::recorder(&env.home);
    match selector {
        Selector::Last { all } => {
            let filter = ListFilter {
                cwd: (!all).then(|| env.cwd.clone()),
                limit: Some(1),
            };
            let found = recorder
                .list(filter)
                .await
                .context("cannot list the recorded sessions")?;
            match found.into_iter().next() {
                Some(summary) => Ok(with_start_time(summary)),
                None if *all => bail!("no recorded session found; start one with `session exec`"),
                None => bail!(
                    "no recorded session found for {}; start one with `session exec`",
                    env.cwd.display()
                ),
            }
        }
        Selector::Id(id) => {
            let path = match recorder.find(id).await {
                Ok(path) => path,
                Err(RecorderError::NotFound(what)) => bail!(
                    "no recorded session found for id {what}; list them with `session sessions --all`"
                ),
                Err(e) => return Err(e).context("cannot search the recorded sessions"),
            };
            let all = recorder
                .list(ListFilter::default())
                .await
                .context("cannot list the recorded sessions")?;
            match all.into_iter().find(|s| s.path == path) {
                Some(summary) => Ok(with_start_time(summary)),
                None => bail!("recording {} cannot be read", path.display()),
            }
        }
    }
}

/// Print the recordings, newest first: of the current directory, or of every one with `all`.
///
/// # Errors
///
/// When the recordings cannot be listed.
pub(crate) async fn list(env: &Env, all: bool) -> Result<()> {
    let recorder = crate::services::recorder(&env.home);
    let filter = ListFilter {
        cwd: (!all).then(|| env.cwd.clone()),
        limit: None,
    };
    let found = recorder
        .list(filter)
        .await
        .context("cannot list the recorded sessions")?;
    if found.is_empty() {
        if all {
            term::note("no recorded sessions yet; start one with `session exec`");
        } else {
            term::note(&format!(
                "no recorded sessions for {}; `session sessions --all` lists every directory",
                env.cwd.display()
            ));
        }
        return Ok(());
    }
    let rows = tokio::task::spawn_blocking(move || {
        found
            .into_iter()
            .map(|s| {
                let turns = session_core::services::count_recorded_turns(&s.path)
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string());
                (with_start_time(s), turns)
            })
            .collect::<Vec<_>>()
    })
    .await
    .context("cannot count the turns of the recorded sessions")?;
    let mut out = term::stdout();
    let _ = writeln!(
        out,
        "{:<36}  {:<19}  {:>5}  CWD  FIRST MESSAGE",
        "ID", "STARTED", "TURNS"
    );
    for (s, turns) in rows {
        let message = s
            .first_user_message
            .as_deref()
            .map(|m| truncate(m, 60))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<36}  {:<19}  {:>5}  {}  {}",
            s.id,
            s.started_at,
            turns,
            s.cwd.display(),
            message
        );
    }
    let _ = out.flush();
    Ok(())
}

/// The summary with a readable start time: from the recording, or else from its file name
/// (`rollout-YYYY-MM-DDTHH-MM-SS-<id>.jsonl`).
fn with_start_time(mut summary: SessionSummary) -> SessionSummary {
    summary.started_at = readable_time(&summary.started_at)
        .or_else(|| time_from_file_name(&summary.path))
        .unwrap_or_else(|| "?".to_owned());
    summary
}

/// `2025-01-02T03:04:05.678Z` as `2025-01-02 03:04:05`.
fn readable_time(stamp: &str) -> Option<String> {
    let date = stamp.get(..10)?;
    let time = stamp.get(11..19)?;
    Some(format!("{date} {time}"))
}

fn time_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.strip_prefix("rollout-")?.get(..19)?;
    let (date, time) = stamp.split_once('T')?;
    Some(format!("{date} {}", time.replace('-', ":")))
}

/// The first line of `text`, at most `max` characters (with `…` when cut).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= max && !text.trim().contains('\n') {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
