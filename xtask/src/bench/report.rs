//! The rows of the bench report, the targets they are held to, and the report's two renderings
//! (a Markdown table for people, JSON for tools).
//!
//! The targets of DESIGN.md's performance section live here and nowhere else: bench binaries
//! only measure. This module does no I/O.

use serde::{Deserialize, Serialize};

/// One line of the report: one figure at one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    /// Stable id of the figure (`session.throughput`).
    pub(crate) id: String,
    /// The figure as people read it; filled from the id.
    #[serde(default)]
    pub(crate) figure: String,
    /// The size measured (`100k items`).
    pub(crate) size: String,
    /// `s`, `per_s`, `B/s`, `B` or `number`.
    pub(crate) unit: String,
    /// What a `per_s` unit counts (`deltas/s`).
    #[serde(default)]
    pub(crate) label: String,
    /// Median of the samples.
    #[serde(default)]
    pub(crate) median: Option<f64>,
    /// Smallest sample.
    #[serde(default)]
    pub(crate) min: Option<f64>,
    /// Largest sample.
    #[serde(default)]
    pub(crate) max: Option<f64>,
    /// 99th percentile, where the target is about the tail.
    #[serde(default)]
    pub(crate) p99: Option<f64>,
    /// Samples behind the numbers.
    #[serde(default)]
    pub(crate) samples: usize,
    /// How the number was obtained.
    #[serde(default)]
    pub(crate) note: String,
    /// Why there is no number, when there is none.
    #[serde(default)]
    pub(crate) not_measured: Option<String>,
    /// The target, in words.
    #[serde(default)]
    pub(crate) target: Option<String>,
    /// Whether the target was met; `None` without a target or a number.
    #[serde(default)]
    pub(crate) met: Option<bool>,
}

impl Row {
    /// A row of values (one per run) in `unit`.
    pub(crate) fn from_values(id: &str, size: &str, unit: &str, values: &[f64]) -> Row {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Row {
            id: id.to_owned(),
            size: size.to_owned(),
            unit: unit.to_owned(),
            median: percentile(&sorted, 50.0),
            min: sorted.first().copied(),
            max: sorted.last().copied(),
            samples: sorted.len(),
            ..Row::empty(id, size, unit)
        }
    }

    /// A row saying why `id` at `size` has no number.
    pub(crate) fn not_measured(id: &str, size: &str, reason: impl Into<String>) -> Row {
        Row {
            not_measured: Some(reason.into()),
            ..Row::empty(id, size, "")
        }
    }

    fn empty(id: &str, size: &str, unit: &str) -> Row {
        Row {
            id: id.to_owned(),
            figure: String::new(),
            size: size.to_owned(),
            unit: unit.to_owned(),
            label: String::new(),
            median: None,
            min: None,
            max: None,
            p99: None,
            samples: 0,
            note: String::new(),
            not_measured: None,
            target: None,
            met: None,
        }
    }

    /// The same row with a note.
    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// The `p`th percentile of sorted values (nearest rank).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What people call a figure, by id.
fn figure_name(id: &str) -> &str {
    match id {
        "exec.wall" => "exec --json, wall time",
        "exec.rss" => "exec --json, peak RSS",
        "startup.wall" => "exec, one-word reply, wall time",
        "startup.rss" => "exec, one-word reply, peak RSS",
        "interrupt.latency" => "interrupt → turn_aborted (proto)",
        "interrupt.orphans" => "`sleep 30` alive at turn_aborted",
        "session.throughput" => "in-process throughput, recorder on",
        "session.json_rerendered" => "item JSON re-rendered across requests",
        "session.idle_bytes" => "idle session, heap",
        "request.build.cached" => "request build, cached JSON",
        "request.build.written" => "request build + every chunk written",
        "request.build.one_buffer" => "request build into one buffer (before)",
        "request.build.reserialized" => "request build, re-serialize items",
        "request.build.copy_floor" => "request build floor: one memcpy",
        "request.build.ratio" => "re-serialize ÷ cached, all bytes written",
        "history.append" => "history append (renders JSON once)",
        "recorder.write" => "recorder write",
        "recorder.read" => "recorder read (resume)",
        "recorder.read.time" => "read_recording",
        "recorder.resume" => "resume (JsonlRecorder::resume)",
        "recorder.read.peak" => "resume peak heap ÷ history JSON",
        "sandbox.spawn.none" => "spawn `true`, unconfined",
        "sandbox.spawn.confined" => "spawn `true`, sandboxed",
        "sandbox.spawn.overhead" => "sandbox overhead per command",
        "tools.wall.none" => "exec, 20 tool calls, danger-full-access",
        "tools.wall.confined" => "exec, 20 tool calls, workspace-write",
        "output.rss" => "exec running `yes | head -c N`, peak RSS",
        "output.rss.delta" => "peak RSS, 1 GB output over 1 MB output",
        "mcp.configured" => "session start with MCP servers, until session_configured",
        "mcp.ready" => "MCP servers started and ready",
        "mcp.call.overhead" => "MCP call, beyond the server's own time",
        "acp.first_chunk" => "ACP: session/prompt → first agent_message_chunk",
        "acp.idle_session_bytes" => "ACP: idle session on one connection, heap",
        "acp.busy_session_peak_bytes" => "ACP: 100 sessions prompting at once, peak heap each",
        "protocol.serialize" => "protocol: serialize each event",
        "protocol.parse" => "protocol: parse each event",
        other => other,
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// How a row's numbers are held to its target.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// The median is at most this.
    AtMost(f64),
    /// The median is at least this.
    AtLeast(f64),
    /// The 99th percentile is at most this.
    P99AtMost(f64),
}

impl Check {
    fn met(self, row: &Row) -> Option<bool> {
        match self {
            Check::AtMost(limit) => row.median.map(|m| m <= limit),
            Check::AtLeast(limit) => row.median.map(|m| m >= limit),
            Check::P99AtMost(limit) => row.p99.map(|p| p <= limit),
        }
    }
}

/// The target a row is held to: its words and its check.
fn target_of(row: &Row) -> Option<(&'static str, Check)> {
    use Check::{AtLeast, AtMost, P99AtMost};
    let target = match (row.id.as_str(), row.size.as_str()) {
        ("exec.wall", "100k deltas") => ("≤ 0.15 s", AtMost(0.15)),
        ("exec.rss", "100k deltas") => ("≤ 20 MiB", AtMost(20.0 * MIB)),
        ("startup.wall", _) => ("≤ 20 ms", AtMost(0.020)),
        ("startup.rss", _) => ("≤ 12 MiB", AtMost(12.0 * MIB)),
        ("session.throughput", _) => ("≥ 2,000,000 deltas/s", AtLeast(2e6)),
        ("request.build.cached", "100k items") => ("≤ 20 ms", AtMost(0.020)),
        // Building alone leaves the copying to the send: the bytes written count too.
        ("request.build.written", "100k items") => ("≤ 20 ms", AtMost(0.020)),
        ("session.json_rerendered", _) => ("0 (no per-request re-serialization)", AtMost(0.0)),
        ("recorder.resume", "100k items") => ("≤ 300 ms", AtMost(0.300)),
        ("recorder.read.peak", "100k items") => ("≤ 2 × history", AtMost(2.0)),
        ("interrupt.latency", _) => ("p99 ≤ 10 ms", P99AtMost(0.010)),
        ("interrupt.orphans", _) => ("0", AtMost(0.0)),
        ("session.idle_bytes", _) => ("≤ 64 KiB", AtMost(64.0 * 1024.0)),
        // The model answers at once, so all of it is ours.
        ("acp.first_chunk", _) => ("≤ 5 ms", AtMost(0.005)),
        ("acp.idle_session_bytes", _) => ("≤ 64 KiB", AtMost(64.0 * 1024.0)),
        ("sandbox.spawn.overhead", _) => ("≤ 1 ms", AtMost(0.001)),
        ("output.rss.delta", _) => ("≤ 16 MiB over the 1 MB run", AtMost(16.0 * MIB)),
        _ => return None,
    };
    Some(target)
}

/// Fill each row's figure name, target and verdict.
pub(crate) fn judge(rows: &mut [Row]) {
    for row in rows {
        row.figure = figure_name(&row.id).to_owned();
        if let Some((words, check)) = target_of(row) {
            row.target = Some(words.to_owned());
            row.met = if row.not_measured.is_some() {
                None
            } else {
                check.met(row)
            };
        }
    }
}

/// A number in the row's unit, for people.
pub(crate) fn format_value(unit: &str, label: &str, value: Option<f64>) -> String {
    let Some(v) = value else {
        return "—".to_owned();
    };
    match unit {
        "s" => format_seconds(v),
        "per_s" => {
            let label = if label.is_empty() { "/s" } else { label };
            format!("{} {label}", format_si(v))
        }
        "B/s" => format!("{:.0} MB/s", v / 1e6),
        "B" if v >= MIB => format!("{:.1} MiB", v / MIB),
        "B" => format!("{:.1} KiB", v / 1024.0),
        _ if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

fn format_seconds(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.2} s")
    } else if v >= 1e-3 {
        format!("{:.2} ms", v * 1e3)
    } else if v >= 1e-6 {
        format!("{:.2} µs", v * 1e6)
    } else {
        format!("{:.0} ns", v * 1e9)
    }
}

fn format_si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.1}")
    }
}

/// What the run was, for the report's heading.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunInfo {
    /// `quick` or `full`.
    pub(crate) mode: &'static str,
    /// The groups run, when `--only` narrowed them.
    pub(crate) only: Option<String>,
    /// CPUs available to the run.
    pub(crate) cpus: usize,
    /// Seconds since the Unix epoch when the run ended.
    pub(crate) finished_unix: u64,
}

/// The Markdown report.
pub(crate) fn markdown(info: &RunInfo, rows: &[Row]) -> String {
    let only = match &info.only {
        Some(group) => format!(", only groups matching `{group}`"),
        None => String::new(),
    };
    let mut out = format!(
        "# Bench report ({} mode{only})\n\n{} CPUs, release build, finished at Unix time {}. \
         Medians of several samples taken side by side in this one run; machines are shared and \
         noisy, so compare ratios within a run rather than numbers across runs.\n\n",
        info.mode, info.cpus, info.finished_unix
    );
    out.push_str("| figure | size | median | min | max | target | met | note |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for row in rows {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let target = row.target.as_deref().unwrap_or("");
        let (median, min, max, note) = match &row.not_measured {
            Some(reason) => (
                "not measured".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                reason.clone(),
            ),
            None => {
                let mut note = row.note.clone();
                if let Some(p99) = row.p99 {
                    let p99 = format_value(&row.unit, &row.label, Some(p99));
                    note = format!("p99 {p99}; {note}");
                }
                (
                    format_value(&row.unit, &row.label, row.median),
                    format_value(&row.unit, &row.label, row.min),
                    format_value(&row.unit, &row.label, row.max),
                    note,
                )
            }
        };
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None if row.target.is_some() => "n/a",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&row.figure),
            cell(&row.size),
            median,
            min,
            max,
            cell(target),
            met,
            cell(&note),
        ));
    }
    out
}

/// The JSON report.
pub(crate) fn json(info: &RunInfo, rows: &[Row]) -> serde_json::Value {
    serde_json::json!({ "run": info, "rows": rows })
}
