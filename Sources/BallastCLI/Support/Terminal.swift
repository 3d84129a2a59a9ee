import Foundation

/// Prints `message` to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Whether standard output is a terminal (for progress redraws and bars).
var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
