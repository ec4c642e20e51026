//! Running a toolchain: its output streams through to our stderr (so stdout
//! stays free for `-o json`) while its stderr is kept for the error message.

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;

use super::BuildError;

/// How much of a failed command's stderr goes into the error.
const STDERR_TAIL: usize = 6000;

/// How a command line is shown: `cargo build --release --target wasm32-wasip2`.
pub(crate) fn display(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        line.push(' ');
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            line.push_str(&format!("'{arg}'"));
        } else {
            line.push_str(&arg);
        }
    }
    line
}

/// Runs `command`, echoing its stdout and stderr to our stderr when `stream`
/// is set.
///
/// # Errors
///
/// [`BuildError::ToolNotFound`] when the program cannot be started (with
/// `install_hint`), [`BuildError::CommandFailed`] with the command line and
/// its stderr when it exits unsuccessfully.
pub(crate) fn run(command: &mut Command, stream: bool, install_hint: &str) -> Result<(), BuildError> {
    let line = display(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| BuildError::ToolNotFound {
            tool: command.get_program().to_string_lossy().into_owned(),
            hint: install_hint.to_string(),
            source,
        })?;
    let stdout = child.stdout.take().map(|out| thread::spawn(move || pump(out, stream)));
    let stderr = child.stderr.take().map(|err| thread::spawn(move || pump(err, stream)));
    let status = child.wait().map_err(|source| BuildError::Io {
        path: PathBuf::from(&line),
        source,
    })?;
    if let Some(handle) = stdout {
        let _ = handle.join();
    }
    let captured = stderr.and_then(|handle| handle.join().ok()).unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(BuildError::CommandFailed {
        command: line,
        status: status.to_string(),
        stderr: tail(&captured, STDERR_TAIL),
    })
}

/// Copies a child's stream line by line to our stderr and returns what it read.
fn pump(stream: impl Read, echo: bool) -> String {
    let mut reader = BufReader::new(stream);
    let mut captured = String::new();
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        if echo {
            let _ = std::io::stderr().lock().write_all(&line);
        }
        captured.push_str(&String::from_utf8_lossy(&line));
        line.clear();
    }
    captured
}

/// The last `max` bytes of `text`, cut at a line start.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = text[start..].find('\n').map_or(start, |i| start + i + 1);
    format!("…\n{}", &text[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_reports_its_line_and_stderr() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo oops >&2; exit 3"]);
        let err = run(&mut command, false, "").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sh -c 'echo oops >&2; exit 3'"), "{text}");
        assert!(text.contains("oops"), "{text}");
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let err = run(&mut Command::new("definitely-not-a-tool-xyz"), false, "install it").unwrap_err();
        assert!(matches!(err, BuildError::ToolNotFound { .. }), "{err}");
        assert!(err.to_string().contains("install it"), "{err}");
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("a\nb\nc\n", 100), "a\nb\nc");
        assert_eq!(tail("aaaa\nbbbb\ncccc", 7), "…\ncccc");
    }
}
