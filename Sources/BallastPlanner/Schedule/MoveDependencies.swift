import BallastModel

/// Finds the moves that need room another move frees.
///
/// The engine reserves capacity on the destination when a migration starts and frees the
/// source only when it commits, so moves that overlap in time all count on their
/// destinations *and* their sources. Replaying the moves in planning order that way, a move
/// whose destination lacks room (capacity or anti-affinity) until earlier moves *out of* that
/// destination have finished depends on those moves.
enum MoveDependencies {
  /// For each move (VM position and destination, in planning order), the positions of earlier
  /// moves that must finish before it starts.
  static func compute(_ moves: [(vm: Int, to: Int)], initial: PlacementState) -> [[Int]] {
    var overlapping = initial
    var released = Set<Int>()
    let capacity = CapacityFilter()
    let antiAffinity = AntiAffinityFilter()
    var result: [[Int]] = []
    for (i, move) in moves.enumerated() {
      let request = MoveRequest(vm: move.vm, destination: move.to)
      var needs: [Int] = []
      if !capacity.admits(request, in: overlapping) || !antiAffinity.admits(request, in: overlapping) {
        needs = (0..<i).filter { initial.hostOf[moves[$0].vm] == move.to }
        for j in needs where !released.contains(j) {
          overlapping.release(moves[j].vm, from: move.to)
          released.insert(j)
        }
      }
      overlapping.reserve(move.vm, on: move.to)
      result.append(needs)
    }
    return result
  }
}
