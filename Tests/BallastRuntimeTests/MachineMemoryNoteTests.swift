import BallastRuntime
import Testing

@Suite("The calibration's note on a machine that returns freed memory to its hypervisor")
struct MachineMemoryNoteTests {
  @Test("memory reported free: a note with how much, where it was read and what it does to the figures")
  func reported() throws {
    let note = try #require(MachineMemoryNote.note(reportedKiB: "82441256\n"))
    #expect(note.contains("78.6 GiB"), "\(note)")
    #expect(note.contains(MachineMemoryNote.reportedFile))
    #expect(note.contains("outage"))
  }

  @Test(
    "no note where nothing was reported, the file is missing or reads as anything but a count",
    arguments: [
      "0", "0\n", "", "lots", "-5", "9999999999999999999999",
    ])
  func none(_ text: String) {
    #expect(MachineMemoryNote.note(reportedKiB: text) == nil)
  }

  @Test func missingFile() {
    #expect(MachineMemoryNote.note(reportedKiB: nil) == nil)
  }
}
