//! The grantd binary: command line, configuration and start-up.

mod cli;
mod config;
mod config_check;
mod doctor;
mod key_fetch;
mod logout_send;
mod serve;
mod telemetry;

use clap::Parser;

/// mimalloc: measurably faster than the system allocator on the token path
/// (bench/README.md), at a few MB of extra memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
