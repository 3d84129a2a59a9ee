import Foundation

/// Prints `message` to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Whether standard output is a terminal (for progress redraws and bars).
var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

/// Whether standard error is a terminal (for progress lines).
var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

/// Rewrites one progress line on standard error; `nil` clears it.
func printProgress(_ text: String?) {
  FileHandle.standardError.write(Data(("\r\u{1B}[2K" + (text ?? "")).utf8))
}
