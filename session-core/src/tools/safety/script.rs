//! The `bash -lc` scripts the safe list accepts: plain words joined by `&&`, `||`, `;` and `|`.
//!
//! Nothing in an accepted script is expanded by the shell. Outside quotes only letters, digits
//! and `-_./,:@%+=` may appear in words (and `=` not in a command's first word or at the start
//! of any word, where it assigns or, in zsh, expands); single quotes are literal; double quotes
//! may not hold `$`, `` ` ``, `\` or `!`. Globs, variables, substitutions, brace and tilde
//! expansion, redirections, here-docs, comments, subshells, background jobs, backslashes, newlines
//! and control characters make the script unknown.

/// How one command of a script is joined to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sep {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;`
    Then,
    /// `|`
    Pipe,
}

impl Sep {
    fn as_str(self) -> &'static str {
        match self {
            Sep::And => "&&",
            Sep::Or => "||",
            Sep::Then => ";",
            Sep::Pipe => "|",
        }
    }
}

/// A script's commands, each an argv, and the separator after each but the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Script {
    pub(super) commands: Vec<Vec<String>>,
    pub(super) seps: Vec<Sep>,
}

/// Whether `c` may appear unquoted in a word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '@' | '%' | '+' | '=')
}

/// Split `script` into commands of literal words, or `None` when the shell would expand,
/// redirect or do anything else with it.
pub(super) fn parse(script: &str) -> Option<Script> {
    if script.chars().any(|c| c != '\t' && c.is_control()) {
        return None;
    }
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut seps = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => end_word(&mut words, &mut word, &mut in_word),
            ';' | '|' | '&' => {
                let sep = match c {
                    ';' => Sep::Then,
                    '|' if chars.peek() == Some(&'|') => {
                        chars.next();
                        Sep::Or
                    }
                    '|' => Sep::Pipe,
                    _ if chars.peek() == Some(&'&') => {
                        chars.next();
                        Sep::And
                    }
                    _ => return None, // a background job
                };
                if matches!(chars.peek(), Some(';' | '|' | '&')) {
                    return None; // `;;`, `|&`, `&&&` and friends
                }
                end_word(&mut words, &mut word, &mut in_word);
                if words.is_empty() {
                    return None;
                }
                commands.push(std::mem::take(&mut words));
                seps.push(sep);
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => word.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' | '\\' | '!' => return None,
                        ch => word.push(ch),
                    }
                }
            }
            ch if is_plain(ch) => {
                // `=` assigns in a command's first word and expands (zsh's `=cmd`) at the
                // start of any word.
                if ch == '=' && (!in_word || words.is_empty()) {
                    return None;
                }
                in_word = true;
                word.push(ch);
            }
            _ => return None,
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    if words.is_empty() {
        // Empty script, or one ending in a separator.
        return None;
    }
    commands.push(words);
    Some(Script { commands, seps })
}

/// The script with every word single-quoted, so it runs exactly these argvs.
pub(super) fn render(commands: &[Vec<String>], seps: &[Sep]) -> String {
    let mut out = String::new();
    for (i, argv) in commands.iter().enumerate() {
        if i > 0 {
            out.push(' ');
            out.push_str(seps[i - 1].as_str());
            out.push(' ');
        }
        let quoted: Vec<String> = argv.iter().map(|w| quote(w)).collect();
        out.push_str(&quoted.join(" "));
    }
    out
}

fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| is_plain(c) && c != '=') {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}
