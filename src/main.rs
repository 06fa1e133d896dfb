//! The production `ace-sync` binary: parses the command line and hands over to the library.
//! The demo and the simulators are not in it; they are in the development binary
//! `ace-sync-dev` (the `sandbox/` crate), which `cargo run` at the repository root runs.

use std::process::ExitCode;

use ace_sync::cli::{Command, GlobalArgs};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "ace-sync",
    version,
    about = "Keeps Salesforce opportunities and AWS Partner Central (ACE) in sync."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ace_sync::cli::execute(cli.global.config.as_deref(), cli.command)
}
