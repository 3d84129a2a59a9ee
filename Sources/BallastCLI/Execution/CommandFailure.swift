/// A command-line failure with what to do about it; printed as is.
///
/// The runtime's own ``RuntimeError`` reaches the user the same way: ArgumentParser prints
/// either's description after `Error:` and exits 1 (never the usage text, which is for
/// arguments that do not parse).
struct CommandFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
