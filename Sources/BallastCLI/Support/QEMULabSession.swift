import BallastEngine
import BallastModel
import BallastQEMU
import Foundation
import Logging

/// The QEMU lab of a `driver: qemu` cluster file: its `labRoot` is relative to the file.
enum QEMULabSession {
  /// The lab described by `cluster`, read from `clusterFile`.
  static func lab(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws -> QEMULab {
    let base = URL(fileURLWithPath: clusterFile).deletingLastPathComponent().path
    return try QEMULab(cluster: cluster, baseDirectory: base, logger: logger)
  }

  /// The driver for the lab, which must be up (`ballast lab up`); its options from the
  /// environment (`BALLAST_QEMU_STEP_DELAYS`, for tests).
  static func driver(cluster: Cluster, clusterFile: String, logger: Logger = quietLogger) throws -> QEMUDriver {
    QEMUDriver(
      lab: try lab(cluster: cluster, clusterFile: clusterFile, logger: logger), options: try .fromEnvironment(),
      logger: logger)
  }

  static let quietLogger = Logger(label: "ballast.qemu", factory: { _ in SwiftLogNoOpLogHandler() })
}
