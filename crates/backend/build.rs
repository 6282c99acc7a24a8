//! Links the `chainwatch` executable at a fixed address (not position-independent) on
//! Linux with glibc. `chainwatch hook` starts once per Claude Code event, and a PIE of
//! this size spends a third of a hook call's CPU before `main`: the loader applies
//! ~30,600 relative relocations, copying ~130 pages of `.data.rel.ro` on write. Linked
//! at a fixed address there is nothing to relocate (docs/PERFORMANCE.md, "The hook's
//! start-up"). Shared libraries, stack, heap and mappings stay randomized; only the
//! executable's own image loses ASLR (docs/SECURITY.md). Only the binary is affected:
//! the library and the test executables link as before.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
