//! `interlog`: the command-line client.
//!
//! # Layout
//! - [`args`]: the command tree (clap derive); its doc comments are the help.
//! - [`cmd`]: one module per group of commands; each parses its arguments
//!   into a request, calls one operation of `interlog-core` (most are in
//!   `interlog_core::journal`), saves and prints the result. [`cmd::Ctx`]
//!   carries the home and the output mode to every command.
//! - [`out`]: tables for people, JSON for scripts, colour only on a terminal.
//! - [`home`]: where the vault lives and how it is opened ([`home::Home`]).
//! - [`lending`]: the store a running `sync --watch` lends to other
//!   commands, both sides; one value per process, no globals.
//! - `bin/interlog-relay.rs`: the relay's own program, which
//!   `interlog relay` starts (`ALLOCATOR` says why it is separate).
//!
//! Errors are `anyhow` with context; `main` prints them on one line, with
//! control characters escaped (they may quote a relay), and exits non-zero;
//! argument errors keep clap's detail and suggestions, escaped too. A command either writes everything it was asked to, flushed, or
//! nothing.

mod args;
mod cmd;
mod home;
mod lending;
mod out;

use clap::Parser;

/// mimalloc, for the journal's commands. Loading a big vault's Automerge
/// document allocates and frees in bursts, and with mimalloc it takes a fifth
/// less time than with glibc's malloc (docs/benchmarks.md, figure 4). The
/// relay is the other way round: an idle connection holds 18 KiB on
/// mimalloc against 14 on the system's allocator, and it starts 5 MiB
/// bigger (docs/benchmarks.md, "Issue 17"). So the relay is a program of its
/// own, `interlog-relay`, on the system's allocator, and `interlog relay`
/// replaces itself with it (cmd/relay.rs). Elsewhere than on Linux with
/// glibc both use the system's allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Let `interlog list interviews | head` end quietly, like other Unix
    // tools, instead of panicking on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default action of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Everything this process creates is its owner's alone, whatever the
    // shell's umask: the store (sled's files hold the notes in plain text),
    // the view cache, the sync state, the watcher's socket, the relay's data
    // directory, and exports written to a file (docs/security.md).
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file mode mask; no thread runs yet.
    unsafe {
        libc::umask(0o077);
    }
    // A bare `interlog` shows the short help (clap's own check for that
    // counts INTERLOG_HOME as an argument given).
    if std::env::args_os().len() == 1 {
        let _ = <args::Cli as clap::CommandFactory>::command().print_help();
        std::process::exit(2);
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's own words: which argument is missing, its usage, and
            // "a similar subcommand exists" (a bare `interlog` gets the short
            // help). They quote what was typed, so they are escaped.
            eprint!("{}", out::safe(&e.render().to_string()));
            std::process::exit(e.exit_code());
        }
    };
    if let Err(e) = cmd::run(cli) {
        out::error(&e);
        std::process::exit(1);
    }
}
