//! Starts Ferry: configuration, backends, workers, HTTP; stops on SIGINT/SIGTERM.

use ferry_server::{application::Application, config::Config, shutdown, site, telemetry};
use std::path::Path;
use std::process::ExitCode;

/// Every request allocates a little (headers, spans, records); glibc's allocator spends a
/// quarter of the hot path's CPU on that and on its arena locks, mimalloc a fraction of it
/// (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("the async runtime starts")
    };
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("--print-config-keys") => {
            for name in ferry_server::config::reference::server_keys() {
                println!("{name}");
            }
            return ExitCode::SUCCESS;
        }
        Some("--healthcheck") => return runtime().block_on(ferry_server::healthcheck::run()),
        Some(other) => {
            eprintln!(
                "unknown argument {other:?}: run without arguments to serve, or with \
                 --print-config-keys or --healthcheck"
            );
            return ExitCode::from(2);
        }
    }
    // Before the runtime: the trace exporter runs on a thread of its own with a blocking client.
    let telemetry = match telemetry::init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            tracing::error!("configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime().block_on(serve());
    // After the runtime has stopped: the spans still buffered are sent, then the exporter stops.
    drop(telemetry);
    code
}

/// Configuration, backends, workers, HTTP, until SIGINT/SIGTERM.
async fn serve() -> ExitCode {
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
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let explicit = std::env::var_os("LEPTOS_HASH_FILES").is_some();
    let leptos_options = match site::with_hashed_names(leptos_options, &exe_dir, explicit) {
        Ok(options) => options,
        Err(error) => {
            tracing::error!("cannot start: {error}");
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

/// mimalloc keeps freed memory for a while before it gives it back and commits its arenas
/// eagerly: a worker streaming gigabytes through short-lived buffers would carry tens of MiB it
/// no longer uses (BENCHMARKS.md, "S3 to S3"). Give memory back at once and commit it when it is
/// used — unless the operator chose otherwise with mimalloc's own `MIMALLOC_*` variables.
///
/// It must run before the first allocation creates mimalloc's first arena, so it runs from
/// `.preinit_array`, before the Rust runtime starts (it allocates nothing itself).
extern "C" fn return_freed_memory_promptly() {
    // Numbers of mimalloc 3's `mi_option_e` (mimalloc.h), which libmimalloc-sys names only in part.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    for (option, variable) in [
        (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY"),
    ] {
        // SAFETY: getenv reads the environment the loader set up; mi_option_set stores a value
        // mimalloc reads when it first needs it. Nothing else runs yet.
        unsafe {
            if libc::getenv(variable.as_ptr()).is_null() {
                libmimalloc_sys::mi_option_set(option, 0);
            }
        }
    }
}

#[used]
#[link_section = ".preinit_array"]
static RETURN_FREED_MEMORY_PROMPTLY: extern "C" fn() = return_freed_memory_promptly;
