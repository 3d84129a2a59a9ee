import BallastEngine
import BallastModel
import BallastQEMU
import Foundation
import Logging

/// The QEMU lab of a `driver: qemu` cluster file: its `labRoot` is relative to the file.
public enum QEMULabSession {
  /// The lab described by `cluster`, read from `clusterFile`.
  public static func lab(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws -> QEMULab {
    let base = URL(fileURLWithPath: clusterFile).deletingLastPathComponent().path
    return try QEMULab(cluster: cluster, baseDirectory: base, logger: logger)
  }

  /// The driver for the lab, which must be up (`ballast lab up`); its options from the
  /// environment (`BALLAST_QEMU_STEP_DELAYS`, for tests).
  public static func driver(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws -> QEMUDriver {
    QEMUDriver(
      lab: try lab(cluster: cluster, clusterFile: clusterFile, logger: logger), options: try .fromEnvironment(),
      logger: logger)
  }

  /// A logger that drops everything: a lab opened for a command says nothing on its own.
  public static let quietLogger = Logger(label: "ballast.qemu", factory: { _ in SwiftLogNoOpLogHandler() })
}
