//! Tests of the patch parser: every section kind, and errors instead of panics on bad input.

use std::path::PathBuf;

use super::*;

#[test]
fn parses_add_delete_update_and_move() {
    let patch = "*** Begin Patch
*** Add File: new.txt
+hello
+world
*** Delete File: old.txt
*** Update File: src/a.rs
*** Move to: src/b.rs
@@ fn main() {
-    println!(\"a\");
+    println!(\"b\");
 }
*** End Patch";
    let hunks = parse_patch(patch).unwrap_or_default();
    assert_eq!(
        hunks,
        vec![
            Hunk::Add {
                path: PathBuf::from("new.txt"),
                contents: "hello\nworld\n".into()
            },
            Hunk::Delete {
                path: PathBuf::from("old.txt")
            },
            Hunk::Update {
                path: PathBuf::from("src/a.rs"),
                move_to: Some(PathBuf::from("src/b.rs")),
                chunks: vec![UpdateChunk {
                    context: Some("fn main() {".into()),
                    old_lines: vec!["    println!(\"a\");".into(), "}".into()],
                    new_lines: vec!["    println!(\"b\");".into(), "}".into()],
                    end_of_file: false,
                }],
            },
        ]
    );
}

#[test]
fn bad_patches_are_errors_with_a_line() {
    let cases = [
        ("", 1),
        ("hello", 1),
        ("*** Begin Patch\n*** Add File: x\n+a", 3),
        ("*** Begin Patch\n*** End Patch", 1),
        ("*** Begin Patch\n*** Frobnicate: x\n*** End Patch", 2),
        (
            "*** Begin Patch\n*** Add File: x\nno plus\n*** End Patch",
            3,
        ),
        ("*** Begin Patch\n*** Update File: x\n*** End Patch", 2),
        ("*** Begin Patch\n*** Add File: \n+a\n*** End Patch", 2),
        (
            "*** Begin Patch\n*** Update File: x\n@@\n?bad\n*** End Patch",
            4,
        ),
    ];
    for (text, line) in cases {
        match parse_patch(text) {
            Err(e) => assert_eq!(e.line, line, "{text:?}: {e}"),
            Ok(h) => panic!("{text:?} parsed as {h:?}"),
        }
    }
}

#[test]
fn odd_input_never_panics() {
    let samples = [
        "*** Begin Patch\n*** Update File: x\n*** End of File\n*** End Patch",
        "*** Begin Patch\n@@\n*** End Patch",
        "*** Begin Patch\n*** Update File: x\n*** Move to: \n*** End Patch",
        "*** Begin Patch\r\n*** Add File: a\r\n+x\r\n*** End Patch\r\n",
        "*** End Patch",
        "*** Begin Patch\n*** Begin Patch\n*** End Patch",
    ];
    for s in samples {
        let _ = parse_patch(s);
    }
}

mod properties {
    //! Property tests: the in-CI twin of the patch-parser fuzz target.

    use proptest::prelude::*;

    use super::super::parse_patch;
    use crate::tools::patch_apply::apply_chunks;

    fn patchish() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("*** Begin Patch".to_owned()),
            Just("*** End Patch".to_owned()),
            Just("*** Add File: a.txt".to_owned()),
            Just("*** Delete File: b.txt".to_owned()),
            Just("*** Update File: c.txt".to_owned()),
            Just("*** Move to: d.txt".to_owned()),
            Just("*** End of File".to_owned()),
            "@@ ?[a-z ]{0,8}",
            "[ +-][a-z ]{0,8}",
            ".{0,12}",
        ];
        proptest::collection::vec(line, 0..20).prop_map(|l| l.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics_the_parser_or_the_applier(
            text in patchish(),
            file in "([a-z ]{0,6}\n){0,8}",
        ) {
            if let Ok(hunks) = parse_patch(&text) {
                for hunk in hunks {
                    if let super::super::Hunk::Update { chunks, .. } = hunk {
                        let _ = apply_chunks(&file, &chunks);
                    }
                }
            }
        }
    }
}
