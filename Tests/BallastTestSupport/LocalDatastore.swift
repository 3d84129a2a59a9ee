import BallastModel

/// What every fixture calls a local datastore: a name ending in `-local` (`h1-local`), as the
/// cluster files and `ballast generate` name them. Every other datastore a fixture makes is
/// shared.
public enum LocalDatastore {
  /// Whether a fixture's datastore called `name` is local to one host.
  public static func isLocal(_ name: String) -> Bool { name.hasSuffix("-local") }

  /// The datastore a fixture means by `name`: local or shared by its name.
  public static func datastore(named name: String) -> Datastore { Datastore(name: name, shared: !isLocal(name)) }
}
