import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Requests over real HTTP (URLSession), as a scraper or a browser would make them.
enum HTTP {
  struct Answer {
    var status: Int
    var body: String
    var contentType: String?

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
      guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
        throw HTTPTestError("not a JSON object: \(body)")
      }
      return object
    }
  }

  static let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 10
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: configuration)
  }()

  /// `method` on `url`; throws when nothing answers.
  static func request(_ url: String, method: String = "GET") async throws -> Answer {
    guard let target = URL(string: url) else { throw HTTPTestError("not a URL: \(url)") }
    var request = URLRequest(url: target)
    request.httpMethod = method
    return try await withCheckedThrowingContinuation { continuation in
      session.dataTask(with: request) { data, response, error in
        if let error {
          continuation.resume(throwing: error)
        } else if let response = response as? HTTPURLResponse {
          continuation.resume(
            returning: Answer(
              status: response.statusCode, body: String(decoding: data ?? Data(), as: UTF8.self),
              contentType: response.value(forHTTPHeaderField: "Content-Type")))
        } else {
          continuation.resume(throwing: HTTPTestError("no HTTP answer from \(url)"))
        }
      }.resume()
    }
  }
}

struct HTTPTestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
