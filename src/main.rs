//! The `yijian` command: check, draw, simulate and serve bundles.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    init_tracing();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs to stderr; `YIJIAN_LOG` (an `EnvFilter` directive such as `debug` or
/// `yijian=debug,warn`) overrides the default: the service's own information, warnings
/// from everything else.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YIJIAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,yijian=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
