//! Shared by the examples that export vector files (`vectors_ofb`,
//! `vectors_wycheproof`) and so by the tests that include them to check
//! the committed files: the text a file is written as, and the writing.
#![allow(dead_code)] // the tests that include an example use only `pretty`

use serde_json::Value;
use std::error::Error;
use std::path::{Path, PathBuf};

pub type Res<T> = Result<T, Box<dyn Error>>;

/// A vector file's text: pretty JSON and a final newline.
pub fn pretty(v: &Value) -> Res<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(v)?))
}

/// The repository root (the parent of `core/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes each `(path relative to the repository root, text)`, creating
/// its directory, and says so.
pub fn write_under_repo_root(files: Vec<(PathBuf, String)>) -> Res<()> {
    let root = repo_root();
    for (rel, text) in files {
        let path = root.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text)?;
        println!("wrote {}", rel.display());
    }
    Ok(())
}
