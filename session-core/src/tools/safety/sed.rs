//! GNU `sed`: its options, and its script checked command by command.
//!
//! A script may print, edit the pattern and hold spaces, branch and quit. Commands that write a
//! file (`w`, `W`, the `w` flag of `s`) or run one (`e`, the `e` flag of `s`), read one (`r`, `R`)
//! and anything this parser does not know make the script unknown. Whether a bracket expression
//! may hide the delimiter of a regex differs between sed versions, so the script is parsed both
//! ways and must be safe under each.

use super::getopt::{self, Arg, Spec, Word};

const SPEC: Spec = Spec {
    flags: "nErsuzb",
    with_arg: "el",
    longs: &[
        ("quiet", Arg::No),
        ("silent", Arg::No),
        ("expression", Arg::Required),
        ("regexp-extended", Arg::No),
        ("separate", Arg::No),
        ("unbuffered", Arg::No),
        ("null-data", Arg::No),
        ("zero-terminated", Arg::No),
        ("line-length", Arg::Required),
        ("posix", Arg::No),
        ("debug", Arg::No),
        ("sandbox", Arg::No),
        ("binary", Arg::No),
        ("follow-symlinks", Arg::No),
        ("help", Arg::No),
        ("version", Arg::No),
    ],
    permute: true,
    attached: true,
};

/// Whether `sed args` only reads its input and prints.
pub(super) fn is_safe(args: &[String]) -> bool {
    let Some(words) = getopt::parse(&SPEC, args) else {
        return false;
    };
    let mut pieces: Vec<&str> = Vec::new();
    for word in &words {
        if let Word::Opt(name, Some(value)) = word
            && (name == "-e" || name == "--expression")
        {
            pieces.push(value);
        }
    }
    let script = if pieces.is_empty() {
        match getopt::operands(&words).next() {
            Some(s) => s.to_owned(),
            None => return false,
        }
    } else {
        pieces.join("\n")
    };
    script_is_safe(&script, Brackets::Plain) && script_is_safe(&script, Brackets::Posix)
}

/// How a regex's delimiter is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Brackets {
    /// The first unescaped delimiter ends the regex.
    Plain,
    /// A delimiter inside a bracket expression (`[/]`) does not.
    Posix,
}

struct Parser<'a> {
    s: &'a [char],
    at: usize,
    brackets: Brackets,
}

fn script_is_safe(script: &str, brackets: Brackets) -> bool {
    let chars: Vec<char> = script.chars().collect();
    let mut p = Parser {
        s: &chars,
        at: 0,
        brackets,
    };
    p.script().is_some()
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.at += 1;
        }
    }

    fn script(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            while matches!(self.peek(), Some(' ' | '\t' | '\n' | ';')) {
                self.at += 1;
            }
            let Some(c) = self.peek() else {
                return (depth == 0).then_some(());
            };
            if c == '#' {
                self.skip_line();
                continue;
            }
            if c == '}' {
                self.at += 1;
                depth = depth.checked_sub(1)?;
                self.end_of_command()?;
                continue;
            }
            self.addresses()?;
            self.skip_blanks();
            while self.peek() == Some('!') {
                self.at += 1;
                self.skip_blanks();
            }
            let command = self.next()?;
            match command {
                '{' => depth += 1,
                '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z'
                | 'F' => self.end_of_command()?,
                'l' | 'q' | 'Q' => {
                    self.skip_blanks();
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.at += 1;
                    }
                    self.end_of_command()?;
                }
                ':' | 'b' | 't' | 'T' => {
                    // A label runs to `;` or the end of the line.
                    while !matches!(self.peek(), None | Some(';' | '\n')) {
                        self.at += 1;
                    }
                }
                'a' | 'i' | 'c' => self.text()?,
                's' => {
                    let delim = self.delimiter()?;
                    self.regex(delim)?;
                    self.replacement(delim)?;
                    while let Some(f) = self.peek() {
                        match f {
                            'g' | 'p' | 'i' | 'I' | 'm' | 'M' => self.at += 1,
                            f if f.is_ascii_digit() => self.at += 1,
                            _ => break,
                        }
                    }
                    self.end_of_command()?;
                }
                'y' => {
                    let delim = self.delimiter()?;
                    self.replacement(delim)?;
                    self.replacement(delim)?;
                    self.end_of_command()?;
                }
                // w W r R e v L and anything unknown.
                _ => return None,
            }
        }
    }

    /// After a command: blanks, then the end, `;`, a newline, `}` or a comment.
    fn end_of_command(&mut self) -> Option<()> {
        self.skip_blanks();
        match self.peek() {
            None | Some(';' | '\n' | '}' | '#') => Some(()),
            Some(_) => None,
        }
    }

    fn skip_line(&mut self) {
        while !matches!(self.next(), None | Some('\n')) {}
    }

    /// The text of `a`, `i`, `c`: to the first newline not escaped by a backslash.
    fn text(&mut self) -> Option<()> {
        while let Some(c) = self.next() {
            match c {
                '\\' => {
                    self.next();
                }
                '\n' => return Some(()),
                _ => {}
            }
        }
        Some(())
    }

    fn addresses(&mut self) -> Option<()> {
        if !self.address()? {
            return Some(());
        }
        self.skip_blanks();
        if self.peek() == Some(',') {
            self.at += 1;
            self.skip_blanks();
            if matches!(self.peek(), Some('+' | '~')) {
                self.at += 1;
                self.number()?;
            } else if !self.address()? {
                return None;
            }
        }
        Some(())
    }

    /// One address, `Some(false)` when there is none here.
    fn address(&mut self) -> Option<bool> {
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                self.number()?;
                if self.peek() == Some('~') {
                    self.at += 1;
                    self.number()?;
                }
                Some(true)
            }
            Some('$') => {
                self.at += 1;
                Some(true)
            }
            Some('/') => {
                self.at += 1;
                self.regex('/')?;
                self.regex_flags();
                Some(true)
            }
            Some('\\') => {
                self.at += 1;
                let delim = self.delimiter()?;
                self.regex(delim)?;
                self.regex_flags();
                Some(true)
            }
            _ => Some(false),
        }
    }

    fn regex_flags(&mut self) {
        while matches!(self.peek(), Some('I' | 'M')) {
            self.at += 1;
        }
    }

    fn number(&mut self) -> Option<()> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    fn delimiter(&mut self) -> Option<char> {
        match self.next()? {
            '\n' | '\\' => None,
            c => Some(c),
        }
    }

    /// A regex up to its closing `delim`, which is consumed.
    fn regex(&mut self, delim: char) -> Option<()> {
        loop {
            match self.next()? {
                '\\' => {
                    self.next()?;
                }
                '[' if self.brackets == Brackets::Posix => self.bracket()?,
                c if c == delim => return Some(()),
                _ => {}
            }
        }
    }

    /// The rest of a bracket expression after its `[`.
    fn bracket(&mut self) -> Option<()> {
        if self.peek() == Some('^') {
            self.at += 1;
        }
        if self.peek() == Some(']') {
            self.at += 1;
        }
        loop {
            match self.next()? {
                ']' => return Some(()),
                '[' if matches!(self.peek(), Some(':' | '=' | '.')) => {
                    let kind = self.next()?;
                    loop {
                        if self.next()? == kind && self.peek() == Some(']') {
                            self.at += 1;
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A replacement (or `y` operand) up to its closing `delim`, which is consumed.
    fn replacement(&mut self, delim: char) -> Option<()> {
        loop {
            match self.next()? {
                '\\' => {
                    self.next()?;
                }
                c if c == delim => return Some(()),
                _ => {}
            }
        }
    }
}
