//! Starts Ferry: configuration, backends, workers, HTTP; stops on SIGINT/SIGTERM.

use ferry_server::{application::Application, config::Config, shutdown, telemetry};
use std::process::ExitCode;

/// Every request allocates a little (headers, spans, records); glibc's allocator spends a
/// quarter of the hot path's CPU on that and on its arena locks, mimalloc a fraction of it
/// (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("--print-config-keys") => {
            for name in ferry_server::config::VARIABLES {
                println!("{name}");
            }
            return ExitCode::SUCCESS;
        }
        Some("--healthcheck") => return ferry_server::healthcheck::run(),
        Some(other) => {
            eprintln!(
                "unknown argument {other:?}: run without arguments to serve, or with \
                 --print-config-keys or --healthcheck"
            );
            return ExitCode::from(2);
        }
    }
    if let Err(error) = telemetry::init() {
        tracing::error!("configuration error: {error}");
        return ExitCode::FAILURE;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let leptos_options = match leptos::config::get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(error) => {
            tracing::error!("configuration error (LEPTOS_*): {error}");
            return ExitCode::FAILURE;
        }
    };
    let application = match Application::build(config, leptos_options).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match application.run_until_stopped(shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
