//! `interlog`: the command-line client.
//!
//! # Layout
//! - [`args`]: the command tree (clap derive); its doc comments are the help.
//! - [`cmd`]: one module per group of commands; each parses its arguments
//!   into calls on `interlog-core` and prints the result.
//! - [`out`]: tables for people, JSON for scripts, colour only on a terminal.
//! - [`home`]: where the vault lives and how it is opened.
//!
//! Errors are `anyhow` with context; `main` prints them on one line and exits
//! non-zero. A command either writes everything it was asked to, flushed, or
//! nothing.

mod args;
mod cmd;
mod home;
mod out;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    if let Err(e) = cmd::run(cli) {
        out::error(&e);
        std::process::exit(1);
    }
}
