//! The `summarybot` binary: parse the command line, run the command, map failures to exit codes
//! (0 ok, 1 runtime failure, 2 usage or configuration error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = summarybot::cli::Cli::parse();
    match summarybot::commands::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!(
                "error: {}",
                summarybot::redact::redact(&failure.to_string())
            );
            failure.exit_code()
        }
    }
}
