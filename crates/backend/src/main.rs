//! The `chainwatch` executable, a small front (`front`): the exact command line
//! `chainwatch hook` runs here, in a process that links only the hook's code; every
//! other command line (`serve`, `hooks install`, `hook --help`, `--version`, …), and the
//! hook with `CHAINWATCH_HOOK_LOG` set, replaces this process with `chainwatch-server`,
//! the full executable beside it, unchanged.

use std::ffi::OsString;
use std::process::ExitCode;

use chainwatch::front;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if front::runs_here(&args) {
        return hook();
    }
    let reason = front::exec_server(&args);
    eprintln!("chainwatch: {reason}");
    if front::is_plain_hook(&args) {
        // The hook with a log filter asked for, and no server executable to parse it:
        // report the event all the same, with warnings only, rather than lose it.
        return hook();
    }
    // A hook must never fail (a failing hook can block Claude Code): whatever went wrong,
    // a `chainwatch hook …` command line exits 0, as the full executable does.
    if args.get(1).is_some_and(|a| a == "hook") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn hook() -> ExitCode {
    chainwatch::telemetry::init_hook_warn();
    chainwatch::hook::main()
}
