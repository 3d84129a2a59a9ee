// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "Ballast",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "ballast", targets: ["ballast"]),
    .library(name: "BallastModel", targets: ["BallastModel"]),
    .library(name: "BallastPlanner", targets: ["BallastPlanner"]),
    .library(name: "BallastEngine", targets: ["BallastEngine"]),
    .library(name: "BallastHistory", targets: ["BallastHistory"]),
    .library(name: "BallastDriverSupport", targets: ["BallastDriverSupport"]),
    .library(name: "BallastQEMU", targets: ["BallastQEMU"]),
    .library(name: "BallastLibvirt", targets: ["BallastLibvirt"]),
    .library(name: "BallastRuntime", targets: ["BallastRuntime"]),
    .library(name: "BallastService", targets: ["BallastService"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
    .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
    .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
    .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
    .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
    .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
  ],
  targets: [
    // Values only: hosts, VMs, datastores, units, cluster and policy files, plans, cost model.
    .target(
      name: "BallastModel",
      dependencies: [.product(name: "Yams", package: "Yams")]
    ),
    // Pure planning: snapshot + policy in, MigrationPlan out.
    .target(name: "BallastPlanner", dependencies: ["BallastModel"]),
    // The one migration engine, the Driver and Journal protocols, the simulated driver.
    .target(
      name: "BallastEngine",
      dependencies: ["BallastModel", .product(name: "Logging", package: "swift-log")]
    ),
    // The history behind one interface, in SQLite (GRDB) or PostgreSQL (postgres-nio): schema
    // migrations, journal, queries, the fenced lease.
    .target(
      name: "BallastHistory",
      dependencies: [
        "BallastModel", "BallastEngine", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // What every driver needs: running commands, blocking calls off the cooperative pool,
    // streaming SHA-256, UNIX sockets and the test guest's control port.
    .target(
      name: "BallastDriverSupport",
      dependencies: [
        "BallastModel", "BallastEngine",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Subprocess", package: "swift-subprocess"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Process controls Swift cannot call directly (C's variadic prctl).
    .target(name: "CProcessControl"),
    // QMP client and the QEMU driver (real processes).
    .target(
      name: "BallastQEMU",
      dependencies: [
        "BallastModel", "BallastEngine", "BallastDriverSupport", "CProcessControl",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // libvirt's C API (Debian: libvirt-dev, found with pkg-config).
    .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
    // The libvirt driver: real clusters through libvirt daemons, and the libvirt lab.
    .target(
      name: "BallastLibvirt",
      dependencies: [
        "CLibvirt", "BallastModel", "BallastEngine", "BallastDriverSupport",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Wires monitor → planner → engine → history for any front end: cluster sessions (the one
    // place a cluster file's `driver:` becomes a Driver), the balancing loop, plan runs, replays.
    .target(
      name: "BallastRuntime",
      dependencies: [
        "BallastModel", "BallastPlanner", "BallastEngine", "BallastHistory", "BallastQEMU", "BallastLibvirt",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ]
    ),
    // The loop as a service: Prometheus metrics, health, the status API and page over HTTP
    // (Hummingbird), systemd notifications.
    .target(
      name: "BallastService",
      dependencies: [
        "BallastRuntime", "BallastModel", "BallastEngine", "BallastHistory",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    // The commands: parse arguments, call the runtime, print. A library so tests can drive them.
    .target(
      name: "BallastCLI",
      dependencies: [
        "BallastRuntime", "BallastService", "BallastModel", "BallastPlanner", "BallastEngine", "BallastHistory",
        "BallastQEMU", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    .executableTarget(name: "ballast", dependencies: ["BallastCLI"]),
    // Helpers every test target shares (as Hummingbird ships HummingbirdTesting): fixtures, the
    // engine harness, event recorders, the `ballast` process helpers, the QEMU test lock.
    .target(
      name: "BallastTestSupport",
      dependencies: [
        "BallastModel", "BallastEngine", "BallastHistory", "BallastRuntime", "BallastDriverSupport", "BallastLibvirt",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      path: "Tests/BallastTestSupport"
    ),
    .testTarget(name: "BallastModelTests", dependencies: ["BallastModel", "BallastTestSupport"]),
    .testTarget(name: "BallastPlannerTests", dependencies: ["BallastPlanner", "BallastModel", "BallastTestSupport"]),
    .testTarget(name: "BallastEngineTests", dependencies: ["BallastEngine", "BallastModel", "BallastTestSupport"]),
    .testTarget(
      name: "BallastHistoryTests",
      dependencies: [
        "BallastHistory", "BallastEngine", "BallastModel", "BallastTestSupport",
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
    .testTarget(name: "BallastDriverSupportTests", dependencies: ["BallastDriverSupport"]),
    .testTarget(
      name: "BallastQEMUTests",
      dependencies: ["BallastQEMU", "BallastDriverSupport", "BallastEngine", "BallastModel", "BallastTestSupport"]),
    .testTarget(
      name: "BallastRuntimeTests",
      dependencies: [
        "BallastRuntime", "BallastHistory", "BallastEngine", "BallastModel", "BallastPlanner", "BallastTestSupport",
      ]),
    .testTarget(
      name: "BallastLibvirtTests",
      dependencies: ["BallastLibvirt", "BallastDriverSupport", "BallastEngine", "BallastModel", "BallastTestSupport"]),
    .testTarget(
      name: "BallastCLITests",
      dependencies: [
        "BallastCLI", "ballast", "BallastRuntime", "BallastHistory", "BallastEngine", "BallastModel", "BallastQEMU",
        "BallastLibvirt", "BallastTestSupport",
      ],
      exclude: ["Golden"]),
    .testTarget(
      name: "BallastServiceTests",
      dependencies: [
        "BallastService", "ballast", "BallastRuntime", "BallastHistory", "BallastEngine", "BallastModel",
        "BallastTestSupport", .product(name: "Metrics", package: "swift-metrics"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
