//! `summarybot status hash-password`: turn a password read from standard input into the
//! `status.password_hash` value.

use std::io::{BufRead, IsTerminal};

use anyhow::Context as _;

use crate::cli::StatusCommand;
use crate::password::PasswordHash;

use super::output::outln;
use super::Failure;

/// Shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 8;

/// Run a `status` subcommand.
pub fn run(cmd: &StatusCommand) -> Result<(), Failure> {
    let StatusCommand::HashPassword { iterations } = cmd;
    if std::io::stdin().is_terminal() {
        eprint!("Password (shown as you type; pipe it in to avoid that): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    outln!("{}", hash_line(password, *iterations)?);
    Ok(())
}

/// The hash of `password`, or a usage failure saying what to change.
fn hash_line(password: &str, iterations: u32) -> Result<String, Failure> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Failure::Usage(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters; pipe it in, e.g. `printf '%s\\n' 'my long password' | summarybot status hash-password`"
        )));
    }
    PasswordHash::create(password, iterations)
        .map(|h| h.to_string())
        .map_err(Failure::Usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_short_passwords_are_refused() {
        let line = hash_line("correct horse battery", 1000).expect("hash");
        let hash = PasswordHash::parse(&line).expect("parses");
        assert!(hash.verify("correct horse battery"));
        let err = hash_line("short", 1000).expect_err("too short").to_string();
        assert!(err.contains("at least 8 characters"), "{err}");
        let err = hash_line("long enough password", 5)
            .expect_err("too few")
            .to_string();
        assert!(err.contains("iterations"), "{err}");
    }
}
