//! Gives the C library a SONAME: `libselo.so.<major>` from 1.0 on, and
//! `libselo.so.0.<minor>` before (a 0.x minor release may break the ABI).
//! scripts/package installs libselo.so.X.Y.Z with the SONAME and
//! libselo.so symlinks.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soversion = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "freebsd" || target_os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libselo.so.{soversion}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
