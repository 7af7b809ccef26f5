//! `find`: leading options, start paths, then an expression checked primary by primary.
//!
//! The expression is read the way find reads it, each primary consuming its own arguments, so a
//! word that looks like a primary but is another's argument (`-name -exec`) is not mistaken for
//! one. Actions that run programs (`-exec`, `-ok` and their `dir` forms), delete, or write files
//! (`-fprint*`, `-fls`), and any primary not known here, make the command unknown.

/// Primaries and operators without an argument.
const NO_ARG: &[&str] = &[
    "(",
    ")",
    "!",
    ",",
    "-a",
    "-o",
    "-and",
    "-or",
    "-not",
    "-true",
    "-false",
    "-empty",
    "-executable",
    "-readable",
    "-writable",
    "-nouser",
    "-nogroup",
    "-print",
    "-print0",
    "-prune",
    "-quit",
    "-ls",
    "-depth",
    "-d",
    "-mount",
    "-xdev",
    "-noleaf",
    "-daystart",
    "-follow",
    "-ignore_readdir_race",
    "-noignore_readdir_race",
    "-help",
    "--help",
    "-version",
    "--version",
];

/// Primaries that take one argument.
const ONE_ARG: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-lname",
    "-ilname",
    "-type",
    "-xtype",
    "-size",
    "-perm",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-links",
    "-inum",
    "-samefile",
    "-newer",
    "-anewer",
    "-cnewer",
    "-mtime",
    "-atime",
    "-ctime",
    "-mmin",
    "-amin",
    "-cmin",
    "-used",
    "-maxdepth",
    "-mindepth",
    "-printf",
    "-fstype",
    "-regextype",
    "-context",
    "-files0-from",
];

/// Whether `find args` only walks and prints.
pub(super) fn is_safe(args: &[String]) -> bool {
    let mut i = 0;
    // Leading options: -H -L -P, -D debugopts, -Olevel.
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            o if o.starts_with("-O") && o.len() > 2 => i += 1,
            _ => break,
        }
    }
    if i > args.len() {
        return false;
    }
    // Start paths: everything before the first word that begins an expression.
    while let Some(a) = args.get(i) {
        if a.starts_with('-') || matches!(a.as_str(), "(" | ")" | "!" | ",") {
            break;
        }
        i += 1;
    }
    while let Some(a) = args.get(i) {
        let a = a.as_str();
        i += 1;
        if NO_ARG.contains(&a) {
            continue;
        }
        if ONE_ARG.contains(&a) || is_newer_xy(a) {
            if args.get(i).is_none() {
                return false;
            }
            i += 1;
            continue;
        }
        return false;
    }
    true
}

/// `-newerXY`, X one of `aBcm`, Y one of `aBcmt`.
fn is_newer_xy(a: &str) -> bool {
    let Some(xy) = a.strip_prefix("-newer") else {
        return false;
    };
    let b = xy.as_bytes();
    b.len() == 2 && b"aBcm".contains(&b[0]) && b"aBcmt".contains(&b[1])
}
