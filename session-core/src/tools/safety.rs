//! Which commands are known to only read, so `untrusted` may run them without asking.
//!
//! Conservative on purpose: anything not recognized asks. A `bash -lc` script is accepted only
//! when it is a plain sequence of known-safe commands joined by `&&`, `||`, `;` or `|`, with no
//! redirection, substitution, subshell, background job or variable expansion.

/// Whether `argv` only reads and may run under `untrusted` without asking.
pub(crate) fn is_known_safe_command(argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        return false;
    };
    let name = program.rsplit('/').next().unwrap_or(program);
    if matches!(name, "bash" | "zsh") {
        return match argv.get(1..) {
            Some([flag, script]) if flag == "-lc" || flag == "-c" => script_is_safe(script),
            _ => false,
        };
    }
    is_safe_simple(argv)
}

fn is_safe_simple(argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        return false;
    };
    // A path to a program is not the program we know: only bare names count.
    if program.contains('/') {
        return false;
    }
    let args = &argv[1..];
    match program.as_str() {
        "ls" | "pwd" | "cat" | "head" | "tail" | "wc" | "echo" | "true" | "false" | "which"
        | "whoami" | "id" | "uname" | "file" | "stat" | "du" | "df" | "tree" | "nl" | "cut"
        | "grep" | "basename" | "dirname" | "realpath" | "readlink" => true,
        "sort" => !args.iter().any(|a| {
            a == "-o" || a.starts_with("--output") || (a.starts_with("-o") && a.len() > 2)
        }),
        "rg" => !args.iter().any(|a| {
            a.starts_with("--pre")
                || a == "--search-zip"
                || a == "-z"
                || a.starts_with("--hostname-bin")
        }),
        "find" => !args.iter().any(|a| {
            matches!(
                a.as_str(),
                "-exec"
                    | "-execdir"
                    | "-ok"
                    | "-okdir"
                    | "-delete"
                    | "-fls"
                    | "-fprint"
                    | "-fprint0"
                    | "-fprintf"
            )
        }),
        "sed" => matches!(args, [n, cmd] | [n, cmd, _] if n == "-n" && is_sed_print(cmd)),
        "git" => is_safe_git(args),
        _ => false,
    }
}

fn is_sed_print(cmd: &str) -> bool {
    let Some(range) = cmd.strip_suffix('p') else {
        return false;
    };
    let mut parts = range.splitn(2, ',');
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (parts.next(), parts.next()) {
        (Some(a), None) => numeric(a),
        (Some(a), Some(b)) => numeric(a) && numeric(b),
        _ => false,
    }
}

fn is_safe_git(args: &[String]) -> bool {
    // Options that run programs or write files make any subcommand unsafe.
    if args.iter().any(|a| {
        a.starts_with("--output")
            || a.starts_with("--exec")
            || a.starts_with("-c")
            || a.starts_with("--config")
            || a == "--ext-diff"
    }) {
        return false;
    }
    match args.first().map(String::as_str) {
        Some("status" | "log" | "diff" | "show" | "rev-parse" | "ls-files" | "blame") => true,
        Some("branch") => args[1..].iter().all(|a| {
            matches!(
                a.as_str(),
                "--list" | "-a" | "-r" | "-v" | "-vv" | "--show-current"
            )
        }),
        _ => false,
    }
}

/// Split a shell script into commands, or `None` when it uses anything beyond plain words,
/// quotes and the separators `&&`, `||`, `;`, `|`.
fn split_script(script: &str) -> Option<Vec<Vec<String>>> {
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\n' | ';' | '|' | '&' => {
                if c == '&' && chars.peek() != Some(&'&') {
                    return None; // background job
                }
                if (c == '&' || c == '|') && chars.peek() == Some(&c) {
                    chars.next();
                }
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if words.is_empty() {
                    if c == '\n' {
                        continue;
                    }
                    return None; // empty command around a separator
                }
                commands.push(std::mem::take(&mut words));
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
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            '>' | '<' | '$' | '`' | '(' | ')' | '{' | '}' | '#' | '!' | '~' | '=' => return None,
            ch => {
                in_word = true;
                word.push(ch);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if !words.is_empty() {
        commands.push(words);
    }
    if commands.is_empty() {
        None
    } else {
        Some(commands)
    }
}

fn script_is_safe(script: &str) -> bool {
    split_script(script).is_some_and(|cmds| cmds.iter().all(|c| is_safe_simple(c)))
}

#[cfg(test)]
mod tests;
