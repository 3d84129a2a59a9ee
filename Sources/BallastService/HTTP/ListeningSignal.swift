import Synchronization

/// Says once whether the HTTP server listens (and on which port) or could not start; anyone
/// may wait for it, before or after it is said.
final class ListeningSignal: Sendable {
  private enum State {
    case waiting([CheckedContinuation<Int, any Error>])
    case listening(port: Int)
    case failed(any Error)
  }

  private let state = Mutex(State.waiting([]))

  /// The port the server listens on, once it does.
  /// - Throws: the server's error when it could not start.
  func port() async throws -> Int {
    try await withCheckedThrowingContinuation { continuation in
      let now: Result<Int, any Error>? = state.withLock { state in
        switch state {
        case .waiting(var waiting):
          waiting.append(continuation)
          state = .waiting(waiting)
          return nil
        case .listening(let port): return .success(port)
        case .failed(let error): return .failure(error)
        }
      }
      if let now { continuation.resume(with: now) }
    }
  }

  func listening(port: Int) { settle(.success(port)) }

  func failed(_ error: any Error) { settle(.failure(error)) }

  /// Settles the signal the first time; later calls change nothing.
  private func settle(_ result: Result<Int, any Error>) {
    let waiting: [CheckedContinuation<Int, any Error>] = state.withLock { state in
      guard case .waiting(let waiting) = state else { return [] }
      switch result {
      case .success(let port): state = .listening(port: port)
      case .failure(let error): state = .failed(error)
      }
      return waiting
    }
    for continuation in waiting { continuation.resume(with: result) }
  }
}
