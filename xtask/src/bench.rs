//! `cargo xtask bench [--quick] [ARGS…]`: builds the release server and the load
//! generator (`crates/bench`), then runs it. It starts `target/release/chainwatch serve`
//! on temp data dirs and free ports, prints a table and writes JSON to
//! `target/bench/<timestamp>.json`. Timed, so never part of `cargo xtask ci`.

use crate::util::cmd;

/// Entry point of the task.
pub fn run(args: &[String]) -> Result<(), String> {
    cmd(
        "",
        "cargo",
        &["build", "--release", "--locked", "-p", "chainwatch"],
    )?;
    let mut cargo_args = vec![
        "run",
        "--release",
        "--locked",
        "-p",
        "chainwatch-bench",
        "--",
    ];
    cargo_args.extend(args.iter().map(String::as_str));
    cmd("", "cargo", &cargo_args)
}
