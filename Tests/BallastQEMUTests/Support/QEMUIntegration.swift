import BallastTestSupport
import Testing

/// Every test that starts QEMU processes lives in an extension of this suite, so they run one
/// at a time (the machine has few cores) and are skipped together when QEMU is missing.
@Suite(.serialized, .enabled(if: QEMUAvailability.installed, QEMUAvailability.reason), .timeLimit(.minutes(20)))
struct QEMUIntegration {}
