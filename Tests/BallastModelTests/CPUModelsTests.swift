import Testing

@testable import BallastModel

@Suite("CPU models")
struct CPUModelsTests {
  @Test(arguments: [
    ("Skylake-Server", "Cascadelake-Server", true), ("Cascadelake-Server", "Skylake-Server", false),
    ("Broadwell", "Icelake-Server", true), ("Icelake-Server", "Broadwell", false),
    ("EPYC", "EPYC-Milan", true), ("EPYC-Rome", "Skylake-Server", false), ("Skylake-Server", "EPYC-Milan", false),
    ("qemu64", "EPYC", true), ("qemu64", "Nehalem", true), ("Nehalem", "Westmere", true),
  ])
  func compatibility(vm: String, host: String, compatible: Bool) {
    #expect(CPUModels.missingFeatures(vmModel: vm, hostModel: host).isEmpty == compatible)
  }

  @Test func extraHostFeaturesCount() {
    let missing = CPUModels.missingFeatures(vmModel: "Cascadelake-Server", hostModel: "Skylake-Server")
    #expect(missing == ["avx512vnni"])
    #expect(
      CPUModels.missingFeatures(vmModel: "Cascadelake-Server", hostModel: "Skylake-Server", hostExtra: ["avx512vnni"])
        .isEmpty)
  }

  @Test func everyNamedModelHasFeatures() {
    for name in CPUModels.names { #expect(CPUModels.features[name] != nil) }
    #expect(CPUModels.names.contains("Nehalem") && CPUModels.names.contains("EPYC-Milan"))
  }
}
