//! The line editor for a terminal: rustyline on its own thread.
//!
//! The editor blocks in `readline`, so it cannot run on the runtime's
//! thread. It sends each line through a bounded channel; the runtime prints
//! echoes through the editor's external printer, which draws them above
//! the line being typed instead of through it.

use std::io;

use runtime::sync::mpsc;
use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use termios::Termios;

use crate::ClientError;

/// The prompt shown at a terminal.
pub const PROMPT: &str = "> ";

/// Lines typed (with their `\n`), or why the input stopped early.
pub(crate) type Lines = mpsc::Receiver<Result<String, ClientError>>;

/// Lines that may wait for the socket.
const LINES_AHEAD: usize = 16;

/// Prints above the line being edited.
pub(crate) struct Printer(Box<dyn ExternalPrinter + Send>);

impl Printer {
    /// Prints `bytes` (whole lines) above the prompt.
    pub(crate) fn print(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.0.print(text).map_err(io::Error::other)
    }
}

/// Puts the terminal's settings back as they were when it was made.
///
/// The editor switches the terminal to raw mode while it reads a line and
/// restores it when `readline` returns. When the client exits for another
/// reason (the server went away) while the editor sits in `readline`, that
/// never happens; this guard does it instead.
pub(crate) struct TerminalGuard(Option<Termios>);

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(STDIN_FD, termios::TCSANOW, saved);
        }
    }
}

/// The fd of stdin.
const STDIN_FD: i32 = 0;

/// Starts the editor thread: returns the lines it reads, a printer, and a
/// guard that restores the terminal.
pub(crate) fn start() -> io::Result<(Lines, Printer, TerminalGuard)> {
    let terminal = TerminalGuard(Termios::from_fd(STDIN_FD).ok());
    let mut editor = DefaultEditor::new().map_err(io::Error::other)?;
    let printer = editor.create_external_printer().map_err(io::Error::other)?;
    let (lines, received) = mpsc::channel(LINES_AHEAD);
    std::thread::Builder::new()
        .name("line-editor".into())
        .spawn(move || edit(editor, lines))?;
    Ok((received, Printer(Box::new(printer)), terminal))
}

/// The editor thread: reads lines until Ctrl-D (the sender is dropped),
/// Ctrl-C (`Interrupted` is sent), an error, or the receiver going away.
fn edit(mut editor: DefaultEditor, lines: mpsc::Sender<Result<String, ClientError>>) {
    loop {
        let input = match editor.readline(PROMPT) {
            Ok(line) => {
                let _ = editor.add_history_entry(line.as_str());
                Ok(line + "\n")
            }
            Err(ReadlineError::Eof) => return,
            Err(ReadlineError::Interrupted) => Err(ClientError::Interrupted),
            Err(e) => Err(ClientError::Stdin(io::Error::other(e))),
        };
        let stop = input.is_err();
        if lines.blocking_send(input).is_err() || stop {
            return;
        }
    }
}
