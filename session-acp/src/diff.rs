//! Old and new text of a file change, for ACP's `diff` tool-call content.
//!
//! Our patch events carry an update as a unified diff. A client shows a diff from the file's
//! old and new text, so a live update is applied to the file as it is before the patch runs;
//! when that is not possible (a replayed session, whose files have moved on, or a file that
//! no longer matches), the hunks alone give the changed region's old and new text.

/// One hunk: the old start line (1-based) and its lines with their `' '`, `'-'` or `'+'` tag.
struct Hunk<'a> {
    old_start: usize,
    lines: Vec<(u8, &'a str)>,
}

fn hunks(unified_diff: &str) -> Vec<Hunk<'_>> {
    let mut out: Vec<Hunk<'_>> = Vec::new();
    for line in unified_diff.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("@@ ") {
            let old_start = header
                .strip_prefix('-')
                .and_then(|rest| rest.split([',', ' ']).next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1);
            out.push(Hunk {
                old_start,
                lines: Vec::new(),
            });
            continue;
        }
        let Some(hunk) = out.last_mut() else {
            continue; // the `---` / `+++` header
        };
        match line.as_bytes().first() {
            Some(tag @ (b' ' | b'-' | b'+')) => hunk.lines.push((*tag, &line[1..])),
            // "\ No newline at end of file" belongs to the line before it.
            Some(b'\\') => {
                if let Some((_, text)) = hunk.lines.last_mut() {
                    *text = text.strip_suffix('\n').unwrap_or(text);
                }
            }
            _ => {}
        }
    }
    out
}

/// `old` with the diff applied, or `None` when the diff does not fit it.
pub(crate) fn apply(old: &str, unified_diff: &str) -> Option<String> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::with_capacity(old.len() + unified_diff.len());
    let mut next = 0; // index into old_lines of the first line not yet copied
    for hunk in hunks(unified_diff) {
        let start = hunk.old_start.saturating_sub(1);
        // A hunk of a pure insertion into an empty file says `-0,0`.
        let start = if hunk.lines.iter().all(|(t, _)| *t == b'+') {
            hunk.old_start
        } else {
            start
        };
        if start < next || start > old_lines.len() {
            return None;
        }
        old_lines[next..start].iter().for_each(|l| out.push_str(l));
        next = start;
        for (tag, text) in hunk.lines {
            match tag {
                b'+' => out.push_str(text),
                _ => {
                    let have = old_lines.get(next)?;
                    if have.trim_end_matches('\n') != text.trim_end_matches('\n') {
                        return None;
                    }
                    if tag == b' ' {
                        out.push_str(have);
                    }
                    next += 1;
                }
            }
        }
    }
    old_lines[next.min(old_lines.len())..]
        .iter()
        .for_each(|l| out.push_str(l));
    Some(out)
}

/// The changed region's old and new text, from the hunks alone (hunks joined by a blank line).
pub(crate) fn regions(unified_diff: &str) -> (String, String) {
    let (mut old, mut new) = (String::new(), String::new());
    for (i, hunk) in hunks(unified_diff).into_iter().enumerate() {
        if i > 0 {
            old.push('\n');
            new.push('\n');
        }
        for (tag, text) in hunk.lines {
            if tag != b'+' {
                old.push_str(text);
            }
            if tag != b'-' {
                new.push_str(text);
            }
        }
    }
    (old, new)
}

/// The first changed line of the new text (1-based), for a tool call's location.
pub(crate) fn first_line(unified_diff: &str) -> Option<u32> {
    let hunk = hunks(unified_diff).into_iter().next()?;
    u32::try_from(hunk.old_start.max(1)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "one\ntwo\nthree\nfour\nfive\n";

    #[test]
    fn applies_hunks_to_the_old_text() {
        let diff = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n@@ -4,2 +4,3 @@\n four\n five\n+six\n";
        assert_eq!(
            apply(OLD, diff).as_deref(),
            Some("ONE\ntwo\nthree\nfour\nfive\nsix\n")
        );
        let (old, new) = regions(diff);
        assert_eq!(old, "one\ntwo\n\nfour\nfive\n");
        assert_eq!(new, "ONE\ntwo\n\nfour\nfive\nsix\n");
        assert_eq!(first_line(diff), Some(1));
    }

    #[test]
    fn a_diff_that_does_not_fit_is_refused() {
        let diff = "@@ -2,1 +2,1 @@\n-zwei\n+deux\n";
        assert_eq!(apply(OLD, diff), None);
        assert_eq!(apply("", "@@ -5,1 +5,1 @@\n-x\n+y\n"), None);
    }

    #[test]
    fn no_newline_markers_and_empty_files() {
        let diff =
            "@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n";
        assert_eq!(apply("a", diff).as_deref(), Some("b"));
        assert_eq!(apply("", "@@ -0,0 +1,1 @@\n+x\n").as_deref(), Some("x\n"));
    }
}
