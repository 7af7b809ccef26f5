//! Qualified tool names: `mcp__<server>__<tool>`, made to fit model APIs' `^[a-zA-Z0-9_-]{1,64}$`.
//!
//! Exists so that every MCP tool gets a name a model accepts, unique across all servers and the
//! same every time for the same servers and tools. Pure: it must not depend on the order servers
//! started in or on anything but the names it is given.

use std::collections::{BTreeMap, BTreeSet};

/// The longest name model APIs accept.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// What every qualified name starts with.
const PREFIX: &str = "mcp__";

/// `name` with every character outside `[a-zA-Z0-9_-]` replaced by `_` (never empty).
pub(crate) fn sanitize(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".to_owned() } else { out }
}

/// What qualified names of server `server` start with.
pub(crate) fn server_prefix(server: &str) -> String {
    format!("{PREFIX}{}__", sanitize(server))
}

/// The qualified name of each `(server, tool)` pair, in the same order.
///
/// `mcp__<server>__<tool>` with both parts sanitized, when that fits in 64 characters and no
/// other pair sanitizes to the same name. Otherwise it is cut to fit an `_` and eight hex digits
/// of a stable hash of the raw pair, so different pairs stay apart. Pairs given twice get the
/// same name.
pub(crate) fn qualify(pairs: &[(&str, &str)]) -> Vec<String> {
    let plain: Vec<String> = pairs
        .iter()
        .map(|(server, tool)| format!("{}{}", server_prefix(server), sanitize(tool)))
        .collect();
    // How many distinct raw pairs want each plain name.
    let mut claims: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for (name, pair) in plain.iter().zip(pairs) {
        claims.entry(name.as_str()).or_default().insert(*pair);
    }
    let mut names: Vec<String> = plain
        .iter()
        .zip(pairs)
        .map(|(name, (server, tool))| {
            let contested = claims.get(name.as_str()).is_some_and(|c| c.len() > 1);
            if name.len() <= MAX_NAME_LEN && !contested {
                name.clone()
            } else {
                with_suffix(name, &format!("_{:08x}", stable_hash(server, tool)))
            }
        })
        .collect();
    separate_leftovers(pairs, &mut names);
    debug_assert!(names.iter().all(|n| is_valid(n)), "{names:?}");
    names
}

/// `name` cut so that it ends in `suffix` within [`MAX_NAME_LEN`] (names are ASCII).
fn with_suffix(name: &str, suffix: &str) -> String {
    let keep = MAX_NAME_LEN.saturating_sub(suffix.len()).min(name.len());
    format!("{}{suffix}", &name[..keep])
}

/// Distinct pairs that still share a name (a hash collision, or a plain name that looks like a
/// hashed one) get a counter, in the order given, until all names differ.
fn separate_leftovers(pairs: &[(&str, &str)], names: &mut [String]) {
    let mut owner: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    for index in 0..names.len() {
        let pair = pairs[index];
        let original = names[index].clone();
        let mut counter = 1u32;
        loop {
            match owner.get(&names[index]) {
                Some(existing) if *existing != pair => {
                    counter += 1;
                    names[index] = with_suffix(&original, &format!("_{counter}"));
                }
                Some(_) => break,
                None => {
                    owner.insert(names[index].clone(), pair);
                    break;
                }
            }
        }
    }
}

/// FNV-1a over `server`, a NUL and `tool`, folded to 32 bits: stable across runs and builds.
fn stable_hash(server: &str, tool: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in server.bytes().chain([0]).chain(tool.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // Truncation on purpose: the high and low halves folded together.
    #[allow(clippy::cast_possible_truncation)]
    let folded = (hash ^ (hash >> 32)) as u32;
    folded
}

/// Whether `name` is a valid model tool name.
pub(crate) fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests;
