//! `ace-sync-dev`: the production command line plus `demo` and `sandbox …`. This is what
//! `cargo run` at the repository root runs; production images build `ace-sync` instead.

use std::process::ExitCode;

use ace_sync::cli::GlobalArgs;
use ace_sync_sandbox::cli::DevCommand;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "ace-sync-dev",
    version,
    about = "ace-sync with its embedded demo and the local simulators of Salesforce and Partner Central."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: DevCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ace_sync_sandbox::cli::execute(cli.global.config.as_deref(), cli.command)
}
