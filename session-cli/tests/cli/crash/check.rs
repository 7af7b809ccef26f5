//! What a recording left by a killed process must look like, checked from its raw bytes with
//! nothing but `serde_json`, so the checks do not share code (or bugs) with the recorder.
//!
//! It only reads bytes and JSON values; it must not touch files or processes.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// A recording split into its lines.
#[derive(Debug)]
pub struct Lines {
    /// Every complete, well-formed line (without its `\n`), parsed.
    pub values: Vec<Value>,
    /// The same lines as bytes (without their `\n`).
    pub raw: Vec<Vec<u8>>,
    /// Where the last complete, well-formed line ends.
    pub good_end: usize,
    /// The bytes after `good_end`: an unterminated line, or a last line that does not parse.
    pub tail: usize,
}

impl Lines {
    /// The `type` of every history line's payload (`response_item` lines only).
    pub fn response_items(&self) -> Vec<&Value> {
        self.values
            .iter()
            .filter(|v| v["type"] == "response_item")
            .map(|v| &v["payload"])
            .collect()
    }

    /// The call ids of the `function_call` items, in order.
    pub fn call_ids(&self) -> Vec<String> {
        call_ids(self.response_items().into_iter())
    }
}

/// The call ids of the `function_call` items among `items`, in order.
pub fn call_ids<'a>(items: impl Iterator<Item = &'a Value>) -> Vec<String> {
    items
        .filter(|item| item["type"] == "function_call")
        .map(|item| item["call_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn parse_line(line: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let ok = value.is_object()
        && value["timestamp"].is_string()
        && value["type"].is_string()
        && !value["payload"].is_null();
    ok.then_some(value)
}

/// Split `bytes` into lines. Only the last line may be torn (no `\n`, or not a recording line);
/// any other bad line is an error naming it.
pub fn split(bytes: &[u8]) -> Result<Lines, String> {
    let mut lines = Lines {
        values: Vec::new(),
        raw: Vec::new(),
        good_end: 0,
        tail: 0,
    };
    let mut start = 0;
    let mut bad: Option<usize> = None;
    while start < bytes.len() {
        if let Some(line_no) = bad {
            return Err(format!(
                "line {line_no} is corrupt and is not the last line: {}",
                String::from_utf8_lossy(&lines_at(bytes, line_no))
            ));
        }
        let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = &bytes[start..start + len];
        match parse_line(line) {
            Some(value) => {
                lines.values.push(value);
                lines.raw.push(line.to_vec());
                lines.good_end = start + len + 1;
            }
            None => bad = Some(lines.raw.len() + 1),
        }
        start += len + 1;
    }
    lines.tail = bytes.len() - lines.good_end;
    Ok(lines)
}

/// The 1-based line `n` of `bytes`, for messages.
fn lines_at(bytes: &[u8], n: usize) -> Vec<u8> {
    bytes
        .split(|&b| b == b'\n')
        .nth(n - 1)
        .unwrap_or_default()
        .iter()
        .take(300)
        .copied()
        .collect()
}

/// The checks every recording must pass, finished or cut off: one `session_meta`, first; no two
/// consecutive lines alike; every call id used by one `function_call` only; every output after
/// its call and at most one per call.
pub fn well_formed(lines: &Lines) -> Result<(), String> {
    if lines.values.is_empty() {
        return Err("no complete line".to_owned());
    }
    if lines.values[0]["type"] != "session_meta" {
        return Err(format!(
            "the first line is not session_meta: {}",
            lines.values[0]
        ));
    }
    let metas = lines
        .values
        .iter()
        .filter(|v| v["type"] == "session_meta")
        .count();
    if metas != 1 {
        return Err(format!("{metas} session_meta lines"));
    }
    for (i, pair) in lines.raw.windows(2).enumerate() {
        if pair[0] == pair[1] {
            return Err(format!(
                "lines {} and {} are identical: {}",
                i + 1,
                i + 2,
                String::from_utf8_lossy(&pair[0])
            ));
        }
    }
    calls_answered_at_most_once(lines.response_items().into_iter())
}

/// Every `function_call` id is unique, and every `function_call_output` follows its call, at
/// most one per call.
pub fn calls_answered_at_most_once<'a>(
    items: impl Iterator<Item = &'a Value>,
) -> Result<(), String> {
    let mut calls = HashSet::new();
    let mut outputs: HashMap<String, usize> = HashMap::new();
    for item in items {
        let call_id = item["call_id"].as_str().unwrap_or_default().to_owned();
        match item["type"].as_str() {
            Some("function_call") if !calls.insert(call_id.clone()) => {
                return Err(format!("call id {call_id} is used by two function calls"));
            }
            Some("function_call_output") => {
                if !calls.contains(&call_id) {
                    return Err(format!(
                        "output for {call_id} comes without its call before it"
                    ));
                }
                let n = outputs.entry(call_id.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    return Err(format!("call {call_id} has {n} outputs"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// As [`calls_answered_at_most_once`], and every call has its output: the shape of history a
/// model may be sent.
pub fn calls_answered_exactly_once(items: &[&Value]) -> Result<(), String> {
    calls_answered_at_most_once(items.iter().copied())?;
    let answered: HashSet<&str> = items
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .filter_map(|item| item["call_id"].as_str())
        .collect();
    for id in call_ids(items.iter().copied()) {
        if !answered.contains(id.as_str()) {
            return Err(format!("call {id} has no output"));
        }
    }
    Ok(())
}
