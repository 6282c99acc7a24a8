//! `chainwatch-server`, the full executable: parses the command line with the whole CLI
//! and hands over to the library. Users run it through the `chainwatch` front
//! (`main.rs`), which replaces itself with this executable for everything but the exact
//! `chainwatch hook`; run directly, it behaves the same.

use std::process::ExitCode;

use chainwatch::app::Application;
use chainwatch::cli::{Cli, Command, HooksCommand};
use clap::Parser;

fn main() -> ExitCode {
    // `chainwatch hook` runs once per Claude Code event, so its start-up is on the agent's
    // path: the exact command line the installed hooks use skips building the whole CLI
    // (clap's parser for `serve`'s options alone cost a hook call more than its request).
    // Anything else, `chainwatch hook --help` included, goes through clap as before.
    if chainwatch::front::is_plain_hook(std::env::args_os()) {
        chainwatch::telemetry::init_hook();
        return chainwatch::hook::main();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A hook must never fail (a failing hook can block Claude Code): whatever the
        // arguments, `chainwatch hook` exits 0.
        Err(e) if std::env::args().nth(1).as_deref() == Some("hook") => {
            eprintln!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Serve(args) => {
            chainwatch::telemetry::init();
            match (*args).into_config() {
                Ok(config) => serve(config),
                Err(error) => {
                    tracing::error!("{error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Hook => {
            chainwatch::telemetry::init_hook();
            chainwatch::hook::main()
        }
        Command::Hooks(args) => {
            chainwatch::telemetry::init_hook();
            let (options, remove) = match args.command {
                HooksCommand::Install(args) => (args.into_options(), false),
                HooksCommand::Uninstall(args) => (args.into_options(), true),
            };
            match chainwatch::hook::install::apply(&options, remove) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("chainwatch hooks: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(config: chainwatch::config::Config) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(async move {
        let data_dir = config.data_dir.display().to_string();
        let bind = config.bind;
        let app = Application::build(config).map_err(|e| e.to_string())?;
        tracing::info!(%bind, port = app.port(), data_dir, "chainwatch serving; open http://{bind}/");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}
