import BallastEngine
import Foundation

/// What a QEMU reservation holds, carried in ``Reservation/token`` as JSON so it survives a
/// Ballast restart.
struct ReservationToken: Sendable, Hashable, Codable {
  /// Live: where the destination QEMU listens (`tcp:127.0.0.1:PORT`).
  var uri: String?
  /// Cold: the staging directory on the destination.
  var staging: String?

  var encoded: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }

  init(uri: String? = nil, staging: String? = nil) {
    self.uri = uri
    self.staging = staging
  }

  init(_ reservation: Reservation) throws {
    guard let value = try? JSONDecoder().decode(ReservationToken.self, from: Data(reservation.token.utf8)) else {
      throw DriverError(
        vm: reservation.request.vm, host: reservation.request.to,
        "reservation token \(reservation.token) was not made by the QEMU driver")
    }
    self = value
  }
}
