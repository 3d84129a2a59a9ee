import Testing

@testable import BallastService

@Suite("--listen addresses")
struct ListenAddressTests {
  @Test(
    arguments: [
      ("127.0.0.1:9464", "127.0.0.1", 9464), ("localhost:0", "localhost", 0), ("[::1]:8080", "::1", 8080),
      ("0.0.0.0:65535", "0.0.0.0", 65535), ("[fe80::1%eth0]:1", "fe80::1%eth0", 1),
    ])
  func validAddresses(text: String, host: String, port: Int) throws {
    let address = try ListenAddress(parsing: text)
    #expect(address.host == host)
    #expect(address.port == port)
  }

  @Test(
    arguments: [
      ("9464", "expected HOST:PORT"), (":9464", "the host is missing"), ("127.0.0.1:65536", "from 0 to 65535"),
      ("127.0.0.1:-1", "from 0 to 65535"), ("127.0.0.1:http", "from 0 to 65535"), ("::1:80", "in brackets"),
      ("[::1]80", "in brackets"), ("a b:80", "IP address or a host name"),
      ("evil/../x:80", "IP address or a host name"),
      ("127.0.0.1:000000009464", "from 0 to 65535"),
    ])
  func invalidAddressesSayWhatIsExpected(text: String, expected: String) {
    #expect {
      try ListenAddress(parsing: text)
    } throws: { error in
      "\(error)".contains(expected) && "\(error)".contains(text)
    }
  }

  @Test func anIPv6AddressIsShownInBrackets() throws {
    #expect(try ListenAddress(parsing: "[::1]:9").description == "[::1]:9")
    #expect(ListenAddress(host: "127.0.0.1", port: 0).description == "127.0.0.1:0")
  }
}
