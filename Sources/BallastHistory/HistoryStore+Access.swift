import GRDB

extension HistoryStore {
  /// Runs `body` in one committed (IMMEDIATE) write transaction; database errors name the file
  /// and `what`, a ``LeaseError`` thrown by `body` passes unchanged.
  func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.write(body)
    } catch let error as LeaseError {
      throw error
    } catch {
      throw failure(what, error)
    }
  }

  /// Runs `body` on a snapshot of the database; errors name the file and `what`.
  func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    do {
      return try await pool.read(body)
    } catch {
      throw failure(what, error)
    }
  }

  func failure(_ what: String, _ error: any Error) -> HistoryError {
    if let error = error as? HistoryError { return error }
    if let error = error as? DatabaseError {
      switch error.resultCode {
      case .SQLITE_BUSY, .SQLITE_LOCKED:
        return HistoryError(
          path: path, "cannot \(what): another process kept the database locked too long",
          hint: "retry; if it persists, find the process holding it (fuser \(path))")
      case .SQLITE_FULL, .SQLITE_IOERR:
        return HistoryError(
          path: path, "cannot \(what): \(error.message ?? "I/O error")", hint: "check free disk space and the disk")
      default:
        return HistoryError(path: path, "cannot \(what): \(error.message ?? "\(error.resultCode)")")
      }
    }
    return HistoryError(path: path, "cannot \(what): \(error)")
  }
}
