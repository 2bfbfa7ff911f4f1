//! The `renditiond` binary: parses the command line, runs one subcommand,
//! and is the only place that turns outcomes into exit statuses.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, Command};

/// Exit status for a bad spec, file or argument.
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    // Before any thread starts.
    renditiond::allocator::reuse_large_buffers();
    match Cli::parse().command {
        Command::Plan(args) => match commands::plan::run(&args) {
            Ok(plan) => {
                println!("{plan}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                println!("{}", json!({ "error": message }));
                ExitCode::from(FAILURE)
            }
        },
        Command::Render(args) => match commands::render::run(&args) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(error),
        },
        Command::Serve(args) => match commands::serve::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(error),
        },
        Command::Sign(args) => match commands::sign::run(&args) {
            Ok(path) => {
                println!("{path}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(error),
        },
    }
}

/// Prints one line on stderr and returns the failure status.
fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("renditiond: {error:#}");
    ExitCode::from(FAILURE)
}
