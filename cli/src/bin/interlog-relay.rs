//! `interlog-relay`: the relay as a program of its own, which
//! `interlog relay` starts. It runs on the system's allocator (the
//! `interlog` binary's main.rs says why); the code is in `interlog_relay`.

fn main() -> std::process::ExitCode {
    interlog_relay::program()
}
