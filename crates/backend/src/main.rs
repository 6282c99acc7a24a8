//! The `chainwatch` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use chainwatch::app::Application;
use chainwatch::cli::{Cli, Command};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    chainwatch::telemetry::init();
    match cli.command {
        Command::Serve(args) => match args.into_config() {
            Ok(config) => serve(config),
            Err(error) => {
                tracing::error!("{error}");
                ExitCode::FAILURE
            }
        },
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
