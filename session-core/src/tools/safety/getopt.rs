//! Command-line parsing the way GNU `getopt_long` does it, against an allow-list.
//!
//! Short options cluster (`-uo FILE` is `-u -o FILE`), an option's argument may be attached
//! (`-oFILE`, `--output=FILE`) or the next word, `--` ends the options, and options may follow
//! operands (GNU permutes). Any option not in the spec makes the whole command unknown. Long
//! options must be spelled in full: the programs accept any unique prefix of *their* option set,
//! which is larger than ours, so an abbreviation is never trusted to mean what it looks like.

/// Whether a long option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arg {
    /// `--flag`.
    No,
    /// `--opt VALUE` or `--opt=VALUE`.
    Required,
    /// `--opt` or `--opt=VALUE`, never the next word.
    Optional,
}

/// The options a program may be given without asking.
#[derive(Debug)]
pub(super) struct Spec {
    /// Short options without an argument.
    pub(super) flags: &'static str,
    /// Short options that take an argument.
    pub(super) with_arg: &'static str,
    /// Long options, by full name.
    pub(super) longs: &'static [(&'static str, Arg)],
    /// Options may follow operands (GNU); `false` stops at the first operand.
    pub(super) permute: bool,
    /// A short option's argument may be attached (`-k2`) and the option may end a cluster
    /// (`-nk2`). When `false` (programs that let every letter of a cluster take the next word,
    /// like `tree`), an option that takes an argument must stand alone and takes the next word.
    pub(super) attached: bool,
}

/// One parsed word: an option by its canonical spelling, or an operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Word {
    /// `-x` / `--name`, with its argument when it takes one.
    Opt(String, Option<String>),
    /// Anything else.
    Operand(String),
}

/// Parse `args` under `spec`, or `None` when any option is not allowed or is malformed.
pub(super) fn parse(spec: &Spec, args: &[String]) -> Option<Vec<Word>> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if only_operands || a == "-" || !a.starts_with('-') {
            out.push(Word::Operand(a.clone()));
            if !spec.permute {
                only_operands = true;
            }
            continue;
        }
        if a == "--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let (_, kind) = spec.longs.iter().find(|(n, _)| *n == name)?;
            let value = match (kind, attached) {
                (Arg::No, Some(_)) => return None,
                (Arg::No, None) | (Arg::Optional, None) => None,
                (Arg::Optional | Arg::Required, Some(v)) => Some(v),
                (Arg::Required, None) => {
                    let v = args.get(i)?.clone();
                    i += 1;
                    Some(v)
                }
            };
            out.push(Word::Opt(format!("--{name}"), value));
            continue;
        }
        // A cluster of short options; the first that takes an argument ends it.
        let cluster = &a[1..];
        for (at, c) in cluster.char_indices() {
            if spec.flags.contains(c) {
                out.push(Word::Opt(format!("-{c}"), None));
                continue;
            }
            if !spec.with_arg.contains(c) {
                return None;
            }
            let rest = &cluster[at + c.len_utf8()..];
            if !spec.attached && (at > 0 || !rest.is_empty()) {
                return None;
            }
            let value = if rest.is_empty() {
                let v = args.get(i)?.clone();
                i += 1;
                v
            } else {
                rest.to_owned()
            };
            out.push(Word::Opt(format!("-{c}"), Some(value)));
            break;
        }
    }
    Some(out)
}

/// The operands of a parse.
pub(super) fn operands(words: &[Word]) -> impl Iterator<Item = &str> {
    words.iter().filter_map(|w| match w {
        Word::Operand(o) => Some(o.as_str()),
        Word::Opt(..) => None,
    })
}
