//! `cargo xtask bench [--quick] [ARGS…]`: builds the release server and the load
//! generator (`crates/bench`), then runs it. It starts `target/release/chainwatch serve`
//! on temp data dirs and free ports, prints a table and writes JSON to
//! `target/bench/<timestamp>.json`. It installs nats-server (`xtask/src/nats.rs`) for
//! the NATS section when it can. Timed, so never part of `cargo xtask ci`.

use crate::util::cmd;

/// Entry point of the task.
pub fn run(args: &[String]) -> Result<(), String> {
    // The NATS section runs against the tests' nats-server; without it that section
    // says so and is skipped.
    if let Err(error) = crate::nats::ensure() {
        eprintln!(
            "xtask bench: cannot install nats-server ({error}); the NATS section will be skipped"
        );
    }
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
