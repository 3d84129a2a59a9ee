import BallastTestSupport

/// This target's fixtures: the planner set of BallastTestSupport.
typealias Fixture = PlannerFixture
