import ArgumentParser

/// `ballast validate`: check a cluster file and optionally a policy file.
struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate", abstract: "Check a cluster file (and a policy file) and report every error.")

  @Option(name: .long, help: "Cluster file (YAML).")
  var cluster: String

  @Option(name: .long, help: "Policy file (YAML).")
  var policy: String?

  func run() async throws {
    print("not yet")
  }
}
