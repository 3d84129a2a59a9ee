/// The built-in table of QEMU x86 CPU models and the feature flags each one offers.
///
/// Each generation offers everything the one before it offers, plus its own flags; Intel and
/// AMD lines share only the common baseline, so a VM started as `Skylake-Server` cannot go
/// live to an `EPYC-Rome` host. `qemu64` and `kvm64` are the lowest common baselines.
/// The lists are abridged from QEMU's `target/i386/cpu.c` to the flags that tell generations
/// apart; a host can add flags with `cpuFeatures:`.
public enum CPUModels {
  private static let baseline: Set<String> = [
    "fpu", "tsc", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "lm", "nx", "syscall", "pae",
    "apic", "sep", "pge", "mca", "mce", "pat", "pse36", "clflush",
  ]
  private static let x86v2: Set<String> = ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cx16", "lahf_lm"]

  private static let intel: [(String, Set<String>)] = [
    ("Nehalem", x86v2),
    ("Westmere", ["aes", "pclmulqdq"]),
    ("SandyBridge", ["avx", "xsave", "tsc-deadline", "x2apic"]),
    ("IvyBridge", ["f16c", "rdrand", "fsgsbase", "erms", "smep"]),
    ("Haswell", ["avx2", "bmi1", "bmi2", "fma", "movbe", "invpcid", "hle", "rtm", "abm"]),
    ("Broadwell", ["adx", "rdseed", "smap", "3dnowprefetch"]),
    ("Skylake-Client", ["xsavec", "xsaves", "xgetbv1", "mpx"]),
    ("Skylake-Server", ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "clwb", "pku", "clflushopt"]),
    ("Cascadelake-Server", ["avx512vnni"]),
    ("Cooperlake", ["avx512-bf16"]),
    (
      "Icelake-Server",
      [
        "avx512vbmi", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq", "avx512bitalg",
        "avx512-vpopcntdq", "sha-ni", "wbnoinvd", "rdpid", "la57",
      ]
    ),
    ("SapphireRapids", ["amx-bf16", "amx-int8", "amx-tile", "avx512-fp16", "serialize", "tsxldtrk"]),
  ]

  private static let amd: [(String, Set<String>)] = [
    (
      "EPYC",
      x86v2.union([
        "aes", "pclmulqdq", "avx", "xsave", "avx2", "bmi1", "bmi2", "fma", "movbe", "f16c", "rdrand",
        "fsgsbase", "smep", "smap", "adx", "rdseed", "sha-ni", "clzero", "sse4a", "misalignsse",
        "xsavec", "xsaves", "clflushopt", "abm", "3dnowprefetch",
      ])
    ),
    ("EPYC-Rome", ["clwb", "wbnoinvd", "rdpid", "umip", "stibp"]),
    ("EPYC-Milan", ["pku", "invpcid", "erms", "fsrm", "vaes", "vpclmulqdq"]),
    (
      "EPYC-Genoa",
      ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512vnni", "avx512-bf16", "gfni", "la57"]
    ),
  ]

  /// Every model name with its full feature set.
  public static let features: [String: Set<String>] = {
    var table: [String: Set<String>] = ["qemu64": baseline, "kvm64": baseline]
    for line in [intel, amd] {
      var accumulated = baseline
      for (name, added) in line {
        accumulated.formUnion(added)
        table[name] = accumulated
      }
    }
    return table
  }()

  /// Known model names, oldest Intel first, then AMD, then the baselines.
  public static let names: [String] = intel.map(\.0) + amd.map(\.0) + ["qemu64", "kvm64"]

  /// The features of `model` plus `extra`; `nil` for an unknown model.
  public static func featureSet(model: String, extra: [String] = []) -> Set<String>? {
    features[model].map { $0.union(extra) }
  }

  /// Features a VM started as `vmModel` (with `vmFeatures` on top) needs that a host of
  /// `hostModel` (+ `hostExtra`) lacks, sorted. Empty means the host can run the VM.
  ///
  /// A known model needs its table's features plus the VM's. A model the table does not know
  /// (a libvirt name such as `EPYC-Milan-v2`) is judged by its feature list alone when the
  /// inventory gave one (libvirt expands it), and lacks everything otherwise. The same holds for
  /// the host. libvirt's spellings of a few flags are read as QEMU's.
  public static func missingFeatures(
    vmModel: String, vmFeatures: [String] = [], hostModel: String, hostExtra: [String] = []
  ) -> [String] {
    guard let needed = requiredFeatures(model: vmModel, features: vmFeatures) else {
      return ["unknown CPU model \(vmModel)"]
    }
    guard let offered = requiredFeatures(model: hostModel, features: hostExtra) else {
      return ["unknown CPU model \(hostModel)"]
    }
    return needed.subtracting(offered).sorted()
  }

  /// The features a CPU of `model` with `features` offers (or needs); `nil` when the model is
  /// unknown and no features describe it.
  static func requiredFeatures(model: String, features: [String]) -> Set<String>? {
    let listed = Set(features.map(canonicalFeature))
    if let known = self.features[model] { return known.union(listed) }
    return listed.isEmpty ? nil : listed
  }

  /// QEMU's name for a flag libvirt spells differently.
  static func canonicalFeature(_ name: String) -> String {
    switch name {
    case "pclmuldq": "pclmulqdq"
    case "sse4_1": "sse4.1"
    case "sse4_2": "sse4.2"
    case "avx512_bf16": "avx512-bf16"
    case "avx512_fp16": "avx512-fp16"
    case "avx512_vpopcntdq": "avx512-vpopcntdq"
    default: name
    }
  }

  /// The model of Ballast's table a libvirt or QEMU model name stands for: the name itself
  /// when known, else the name without a version or mitigation suffix (`Skylake-Client-IBRS`
  /// → `Skylake-Client`, `EPYC-Rome-v2` → `EPYC-Rome`, `Cascadelake-Server-noTSX` →
  /// `Cascadelake-Server`); `nil` when neither is in the table.
  public static func tableModel(for name: String) -> String? {
    var base = Substring(name)
    while features[String(base)] == nil, let dash = base.lastIndex(of: "-") {
      let suffix = base[base.index(after: dash)...]
      let version = suffix.count > 1 && suffix.first == "v" && suffix.dropFirst().allSatisfy(\.isNumber)
      guard version || ["IBRS", "noTSX", "IBPB"].contains(suffix) else { break }
      base = base[..<dash]
    }
    return features[String(base)] != nil ? String(base) : nil
  }
}
