#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `selo --version` and `selo completions bash|zsh|fish`.

mod common;

use common::{selo, stdout};

#[test]
fn version_is_the_workspace_version() {
    let out = selo(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        format!("selo {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_name_every_subcommand_in_each_shell() {
    for (shell, marker) in [
        ("bash", "_selo()"),
        ("zsh", "#compdef selo"),
        ("fish", "complete -c selo"),
    ] {
        let out = selo(&["completions", shell]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{shell}: {text}");
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        for sub in ["demo", "safra", "validate", "sim", "completions"] {
            assert!(text.contains(sub), "{shell}: {sub} missing");
        }
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let out = selo(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}
