//! Error messages that point at the mistake: the file, the 1-based line and the key of a bad
//! `config.toml`, or the key of a bad override. It only reads and describes; it must not fix
//! or skip anything.

use anyhow::{Error, anyhow};

use super::ConfigFile;
use super::toml_types::ConfigToml;

/// Parse the file into a table, and check that every known key has the right type.
///
/// # Errors
///
/// A message naming the file, the line and the key.
pub(crate) fn parse_file(file: &ConfigFile) -> Result<toml::Table, Error> {
    let table: toml::Table = file
        .text
        .parse()
        .map_err(|e: toml::de::Error| located(file, &e, None))?;
    if let Err(e) = toml::from_str::<ConfigToml>(&file.text) {
        // The typed error from the parsed table names the key with its whole dotted path.
        let key = toml::Value::Table(table.clone())
            .try_into::<ConfigToml>()
            .err()
            .and_then(|typed| key_of(&typed));
        return Err(located(file, &e, key));
    }
    Ok(table)
}

/// The error for a merged configuration (environment, overrides, flags) that does not read.
pub(crate) fn override_error(e: &toml::de::Error) -> Error {
    match key_of(e) {
        Some(key) => anyhow!("invalid setting `{key}`: {}", e.message().trim()),
        None => anyhow!("invalid setting: {}", e.message().trim()),
    }
}

/// The dotted key an error from deserializing a `toml::Value` names (`… in `a.b``).
fn key_of(e: &toml::de::Error) -> Option<String> {
    let text = e.to_string();
    let last = text.trim_end().lines().last()?;
    let key = last.strip_prefix("in `")?.strip_suffix('`')?;
    (!key.is_empty()).then(|| key.to_owned())
}

fn located(file: &ConfigFile, e: &toml::de::Error, key: Option<String>) -> Error {
    let message = e.message().trim().replace('\n', "; ");
    let Some(span) = e.span() else {
        return anyhow!("invalid config file {}: {message}", file.path.display());
    };
    let line = line_of(&file.text, span.start);
    let key = key.or_else(|| key_at_line(&file.text, line));
    match key {
        Some(key) => anyhow!(
            "invalid config file {} at line {line}, key `{key}`: {message}",
            file.path.display()
        ),
        None => anyhow!(
            "invalid config file {} at line {line}: {message}",
            file.path.display()
        ),
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The dotted key assigned on 1-based `line` (with the table header above it), if the line is
/// a `key = value` line.
pub(crate) fn key_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let (key, _) = here.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let header = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix('[')?;
        let inner = inner.trim_start_matches('[');
        let end = inner.find(']')?;
        Some(inner[..end].trim().to_owned())
    });
    Some(match header {
        Some(h) if !h.is_empty() => format!("{h}.{key}"),
        _ => key.to_owned(),
    })
}
