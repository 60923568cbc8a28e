//! Output: tables for people, JSON for scripts, colour only on a terminal and
//! never with `NO_COLOR`.

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

/// Prints an error on one line: what went wrong and, from the error itself,
/// what to do.
pub fn error(e: &anyhow::Error) {
    let tty = std::io::stderr().is_terminal();
    let msg = format!("{e:#}").replace('\n', " ");
    eprintln!("{} {msg}", paint("error:", "1;31", tty));
}

/// A warning on standard error (never mixed into JSON output).
pub fn warn(msg: &str) {
    let tty = std::io::stderr().is_terminal();
    eprintln!("{} {msg}", paint("warning:", "1;33", tty));
}

/// A note for people on standard error, e.g. "compacted the store".
pub fn note(msg: &str) {
    eprintln!("{msg}");
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
    // Wrap to $COLUMNS, or to a comfortable width on a terminal; pipes get
    // whole lines.
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    match width {
        Some(w) => {
            t.set_width(w);
        }
        None if std::io::stdout().is_terminal() => {
            t.set_width(110);
        }
        None => {}
    }
    t
}

/// Prints a table, or a line saying there is nothing to show.
pub fn print_table(t: &Table, empty: &str) {
    if t.row_count() == 0 {
        println!("{empty}");
    } else {
        println!("{t}");
    }
}

/// A section heading in multi-part reports.
pub fn heading(text: &str) {
    let tty = std::io::stdout().is_terminal();
    println!("{}", paint(text, "1", tty));
}
