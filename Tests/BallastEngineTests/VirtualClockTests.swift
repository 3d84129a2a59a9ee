import BallastEngine
import Synchronization
import Testing

/// Values appended from several tasks.
final class SharedList<Element: Sendable>: Sendable {
  private let items = Mutex<[Element]>([])
  func append(_ item: Element) { items.withLock { $0.append(item) } }
  var all: [Element] { items.withLock { $0 } }
}

@Suite struct VirtualClockTests {
  @Test func aLoneSleeperJumpsStraightToItsWakeUp() async {
    let clock = VirtualClock(origin: 1000)
    await clock.sleep(until: 3600)
    #expect(clock.elapsed == 3600)
    #expect(clock.now() == 4600)
    await clock.sleep(until: 10)  // the past: returns at once
    #expect(clock.elapsed == 3600)
  }

  @Test func timeStandsStillWhileAParticipantWorks() async {
    let clock = VirtualClock()
    let order = SharedList<String>()
    clock.join()  // a participant that is busy
    clock.join()
    let sleeper = Task {
      await clock.sleep(until: 5)
      order.append("woke at \(clock.elapsed)")
      clock.leave()
    }
    // Give the sleeper every chance to run: it must not wake while we hold the clock.
    for _ in 0..<100 { await Task.yield() }
    #expect(clock.elapsed == 0)
    order.append("busy done")
    clock.leave()
    await sleeper.value
    #expect(order.all == ["busy done", "woke at 5.0"])
  }

  @Test func participantsWakeInTimeOrder() async {
    let clock = VirtualClock()
    let woken = SharedList<Double>()
    await withTaskGroup(of: Void.self) { group in
      for wake in [30.0, 10, 20] {
        clock.join()
        group.addTask {
          await clock.sleep(until: wake)
          woken.append(clock.elapsed)
          clock.leave()
        }
      }
    }
    #expect(woken.all == [10, 20, 30])
  }

  @Test func anInterruptWakesASleeperEarlyEvenIfItComesFirst() async {
    let clock = VirtualClock()
    clock.interrupt(key: 7)  // before anyone sleeps on key 7: kept for it
    #expect(await clock.sleep(until: 100, key: 7))
    #expect(clock.elapsed == 0)
    clock.join()
    clock.join()
    let sleeper = Task {
      let early = await clock.sleep(until: 100, key: 8)
      clock.leave()
      return (early, clock.elapsed)
    }
    await clock.sleep(until: 4)  // the other participant moves time to 4, then interrupts
    clock.interrupt(key: 8)
    clock.leave()
    let (early, at) = await sleeper.value
    #expect(early)
    #expect(at == 4)
  }
}
