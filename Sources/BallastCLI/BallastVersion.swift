/// The version `ballast --version` prints: the release this source is (bumped when one is tagged).
enum BallastVersion {
  static let current = "0.9.0"
}
