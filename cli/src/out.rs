//! Output: tables for people, JSON for scripts, colour only on a terminal and
//! never with `NO_COLOR`.
//!
//! Text that can carry what a peer or a file supplied (a relay's error
//! message, a device id, a stored sync error, a journal entry imported from
//! a file) reaches the terminal only through [`safe`]: control characters,
//! escape sequences and bidi overrides are shown as `?`, so nobody can set
//! the terminal's title, repaint a line or fake an alert through us. Errors,
//! warnings, notes and tables go through it here; JSON output is escaped by
//! serde_json, and the CLI escapes peer strings it puts into JSON too.

use std::io::{IsTerminal, Write};

use comfy_table::{presets, ContentArrangement, Table, TableComponent};
use serde::Serialize;

fn colour(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, code: &str, tty: bool) -> String {
    if colour(tty) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `text` safe to print on a terminal: every control character but line
/// breaks and tabs, and every bidi control, shown as `?`
/// (`interlog_core::tls::printable_lines`).
pub fn safe(text: &str) -> String {
    interlog_core::tls::printable_lines(text)
}

/// Prints an error on one line: what went wrong and, from the error itself,
/// what to do. The chain may quote a relay or a file, so it is escaped.
pub fn error(e: &anyhow::Error) {
    let tty = std::io::stderr().is_terminal();
    let msg = safe(&format!("{e:#}").replace('\n', " "));
    eprintln!("{} {msg}", paint("error:", "1;31", tty));
}

/// A warning on standard error (never mixed into JSON output), escaped.
pub fn warn(msg: &str) {
    let tty = std::io::stderr().is_terminal();
    eprintln!("{} {}", paint("warning:", "1;33", tty), safe(msg));
}

/// A note for people on standard error, e.g. "compacted the store", escaped.
pub fn note(msg: &str) {
    eprintln!("{}", safe(msg));
}

pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// A table with a header row, sized to the terminal when there is one.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '─')
        .set_style(TableComponent::MiddleHeaderIntersections, '─')
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    // Wrap to $COLUMNS, else to the terminal's width (prose columns wrap,
    // short ones keep their width); pipes get whole lines.
    if let Some(w) = width() {
        t.set_width(w);
    }
    t
}

/// The width tables wrap to: `$COLUMNS` when set, else the terminal's;
/// `None` when standard output is not a terminal.
pub fn width() -> Option<u16> {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
    {
        return Some(w);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    Some(terminal_columns().unwrap_or(100))
}

#[cfg(unix)]
fn terminal_columns() -> Option<u16> {
    // SAFETY: TIOCGWINSZ fills the winsize we pass, and nothing else.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some(ws.ws_col)
    }
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<u16> {
    None
}

/// Prints a table, or a line saying there is nothing to show. Cells carry
/// journal text (which an import or a peer may have supplied), so the table
/// is escaped (no cell is coloured, so nothing of ours is lost).
pub fn print_table(t: &Table, empty: &str) {
    if t.row_count() == 0 {
        println!("{}", safe(empty));
    } else {
        println!("{}", safe(&t.to_string()));
    }
}

/// A section heading in multi-part reports.
pub fn heading(text: &str) {
    let tty = std::io::stdout().is_terminal();
    println!("{}", paint(text, "1", tty));
}
