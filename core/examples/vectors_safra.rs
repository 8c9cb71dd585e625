//! Regenerates `tests/vectors/safra/generated.json`.
//! Run: `cargo run -p selo --example vectors_safra`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/gen_safra.rs"]
mod gen_safra;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = gen_safra::generate(&root);
    let path = root.join("tests/vectors/safra/generated.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    println!("wrote {}", path.display());
}
