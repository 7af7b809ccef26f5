//! `awk`: `-F` and `-v` only, and a program that can neither write nor run anything.
//!
//! Output redirection (`print > "f"`, `>>`), pipes to and from commands (`| "cmd"`,
//! `"cmd" | getline`, gawk's `|&`), `system()`, gawk's `@load` / `@include` and its `/inet/`
//! network files make the program unknown. The characters are looked for anywhere in the
//! program, strings and regexes included: telling awk's regex literals from division takes a full
//! parser, and guessing wrong would hide a redirection. So `$1 > 5` asks too; `$1 >= 5`,
//! `<` and `||` do not.

use super::getopt::{self, Spec, Word};

const SPEC: Spec = Spec {
    flags: "",
    with_arg: "Fv",
    longs: &[],
    permute: false,
    attached: true,
};

/// Whether `awk args` only reads its input and prints.
pub(super) fn is_safe(args: &[String]) -> bool {
    let Some(words) = getopt::parse(&SPEC, args) else {
        return false;
    };
    let Some(program) = words.iter().find_map(|w| match w {
        Word::Operand(o) => Some(o.as_str()),
        Word::Opt(..) => None,
    }) else {
        return false;
    };
    program_is_safe(program)
}

fn program_is_safe(program: &str) -> bool {
    if program.contains('@') || program.contains("system") || program.contains("/inet") {
        return false;
    }
    let bytes = program.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'>' if bytes.get(i + 1) != Some(&b'=') => return false,
            b'|' => {
                let doubled = bytes.get(i + 1) == Some(&b'|') || (i > 0 && bytes[i - 1] == b'|');
                let tripled = bytes.get(i + 2) == Some(&b'|') || (i > 1 && bytes[i - 2] == b'|');
                if !doubled || tripled {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}
