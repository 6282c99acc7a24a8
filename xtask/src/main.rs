//! Project automation, run as `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`). Tasks are plain Rust so they behave the same on every
//! machine: `gen-types [--check]`, `ci`, `serve`, `bench [--quick]`.

mod bench;
mod ci;
mod gen_types;
mod nats;
mod schemathesis;
mod serve;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "gen-types" => gen_types::run(rest.iter().any(|a| a == "--check")),
        "ci" => ci::run(rest),
        "serve" => serve::run(rest),
        "schemathesis" => schemathesis::run(),
        "bench" => bench::run(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 gen-types [--check]  write (or verify) web/src/generated from crates/shared\n  \
                 ci [--skip-browser]  every check CI runs, installing what it needs\n  \
                 serve [ARGS…]        build the web app when stale, then run `chainwatch serve ARGS…`\n  \
                 schemathesis         fuzz the REST API from its OpenAPI document (part of ci)\n  \
                 bench [--quick]      build release binaries and run the server benchmark (docs/PERFORMANCE.md)"
            );
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}
