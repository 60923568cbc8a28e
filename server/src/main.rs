//! `interlog-relay`: the relay as its own binary. It reads settings and calls
//! `interlog_relay::serve_forever`; `interlog relay` does the same.

use clap::Parser;

/// The Interlog relay: stores and forwards end-to-end encrypted change records.
#[derive(Parser)]
#[command(name = "interlog-relay", version)]
struct Cli {
    #[command(flatten)]
    args: interlog_relay::RelayArgs,
}

fn main() {
    interlog_relay::init_logging();
    let settings = match Cli::parse().args.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let result = match interlog_relay::runtime() {
        Ok(rt) => rt
            .block_on(interlog_relay::serve_forever(settings))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("could not start the relay runtime: {e}")),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
