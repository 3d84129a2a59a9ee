import CLibvirt
import Foundation

/// A value of a libvirt typed parameter (statistics, job figures, migration parameters).
public enum TypedValue: Sendable, Hashable {
  case integer(Int64)
  case unsigned(UInt64)
  case double(Double)
  case boolean(Bool)
  case string(String)

  /// The value as a number (`nil` for strings).
  public var number: Double? {
    switch self {
    case .integer(let value): Double(value)
    case .unsigned(let value): Double(value)
    case .double(let value): value
    case .boolean(let value): value ? 1 : 0
    case .string: nil
    }
  }
}

/// Reads a libvirt `virTypedParameter` array into a dictionary keyed by field name.
enum TypedParameters {
  static func read(_ params: UnsafeMutablePointer<virTypedParameter>?, count: Int32) -> [String: TypedValue] {
    guard let params, count > 0 else { return [:] }
    var values: [String: TypedValue] = [:]
    for i in 0..<Int(count) {
      let parameter = params[i]
      let field = withUnsafeBytes(of: parameter.field) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
      }
      switch UInt32(bitPattern: parameter.type) {
      case VIR_TYPED_PARAM_INT.rawValue: values[field] = .integer(Int64(parameter.value.i))
      case VIR_TYPED_PARAM_UINT.rawValue: values[field] = .unsigned(UInt64(parameter.value.ui))
      case VIR_TYPED_PARAM_LLONG.rawValue: values[field] = .integer(parameter.value.l)
      case VIR_TYPED_PARAM_ULLONG.rawValue: values[field] = .unsigned(parameter.value.ul)
      case VIR_TYPED_PARAM_DOUBLE.rawValue: values[field] = .double(parameter.value.d)
      case VIR_TYPED_PARAM_BOOLEAN.rawValue: values[field] = .boolean(parameter.value.b != 0)
      case VIR_TYPED_PARAM_STRING.rawValue:
        values[field] = .string(parameter.value.s.map { String(cString: $0) } ?? "")
      default: continue
      }
    }
    return values
  }
}

/// Parameters handed to libvirt (migration), built up then freed.
final class TypedParameterList {
  private(set) var pointer: virTypedParameterPtr?
  private(set) var count: Int32 = 0
  private var capacity: Int32 = 0

  init() {}

  deinit { virTypedParamsFree(pointer, count) }

  func add(_ name: String, string value: String) throws {
    try Libvirt.check(virTypedParamsAddString(&pointer, &count, &capacity, name, value), "setting \(name)")
  }

  func add(_ name: String, unsigned value: UInt64) throws {
    try Libvirt.check(virTypedParamsAddULLong(&pointer, &count, &capacity, name, value), "setting \(name)")
  }

  func add(_ name: String, integer value: Int32) throws {
    try Libvirt.check(virTypedParamsAddInt(&pointer, &count, &capacity, name, value), "setting \(name)")
  }
}
