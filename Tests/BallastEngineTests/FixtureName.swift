import BallastTestSupport

/// This target's fixtures: the engine set of BallastTestSupport.
typealias Fixture = EngineFixture
