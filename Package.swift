// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-provider-archive",
    platforms: [.macOS(.v13)],
    products: [
        // The archive API with the layers it is built on, so a client can import the plumbing
        // it uses (PARBytes for streams, JSON and hashes; PARContainer for tar and gzip errors).
        .library(
            name: "ProviderArchiveKit",
            targets: ["ProviderArchiveKit", "PARBytes", "PARNKeys", "PARClaims", "PARContainer"]
        ),
        .library(name: "PARRegistry", targets: ["PARRegistry"]),
        .library(name: "PARHost", targets: ["PARHost"]),
        .executable(name: "par", targets: ["par"]),
    ],
    dependencies: [
        // Ed25519 signatures and SHA-256 (BoringSSL backend on Linux, with SHA-NI/ARMv8 code paths).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The `par` command line: wash-style flags, help and usage errors.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The registry client's HTTP: streaming bodies with back-pressure, per-client TLS trust,
        // timeouts, and no Authorization on cross-origin redirects. PARRegistry and par only.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // `swift package generate-documentation`: the DocC catalogs, built in CI with warnings as errors.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The one place that touches zlib: static inline wrappers for its function-like macros.
        .target(
            name: "CPARZlib",
            linkerSettings: [.linkedLibrary("z")]
        ),
        // ISA-L's gzip inflate, loaded with dlopen when libisal.so.2 is installed (its header,
        // from libisal-dev, is used when present at build time); zlib is used otherwise.
        .target(name: "CPARIsal"),
        // Removes temporary files on SIGINT/SIGTERM/SIGHUP: a signal handler's state must be C atomics.
        .target(name: "CPARSignals"),
        // Starting a provider as the host does, or a tool par runs (wasm-tools): the signal
        // state and descriptors a clean exec needs.
        .target(name: "CPARProcess"),
        // Layer 0, the base: byte streams and their wrappers, POSIX files (atomic files,
        // locks, signal cleanup), JSON, and the SHA-256 type with its streaming hasher.
        .target(
            name: "PARBytes",
            dependencies: ["CPARSignals", "CPARProcess", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Layer 1: nkeys encoding, Ed25519 key pairs and signatures, wash's key folders.
        .target(
            name: "PARNKeys",
            dependencies: ["PARBytes", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Layer 2: the wascap JWT claims of a capability provider.
        .target(
            name: "PARClaims",
            dependencies: ["PARBytes", "PARNKeys"]
        ),
        // Layer 2, beside the claims: streaming tar and gzip over byte streams.
        .target(
            name: "PARContainer",
            dependencies: ["PARBytes", "CPARZlib", "CPARIsal"]
        ),
        // Layer 3: the provider archive API, verification on every load.
        .target(
            name: "ProviderArchiveKit",
            dependencies: ["PARBytes", "PARNKeys", "PARClaims", "PARContainer"]
        ),
        // Layer 4: pushing and pulling archives through OCI registries (async-http-client).
        .target(
            name: "PARRegistry",
            dependencies: [
                "ProviderArchiveKit", "PARBytes", "PARClaims", "PARContainer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Layer 5, the host's half: a verified, content-addressed provider cache, and starting
        // a provider as the wasmCloud host does.
        .target(
            name: "PARHost",
            dependencies: ["CPARProcess", "ProviderArchiveKit", "PARRegistry", "PARBytes", "PARClaims"]
        ),
        // Layer 6: the `par` command-line tool. Holds no format logic: it parses, calls, prints.
        .executableTarget(
            name: "par",
            dependencies: [
                "ProviderArchiveKit", "PARRegistry", "PARHost", "PARBytes", "PARNKeys", "PARClaims", "PARContainer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The README's library example: builds, signs, writes, reloads and verifies an archive.
        // A target, not a product: `swift run par-quickstart` builds it, and clients get no example.
        .executableTarget(
            name: "par-quickstart",
            dependencies: ["ProviderArchiveKit", "PARBytes"],
            path: "Examples/quickstart"
        ),
        // Helpers shared by the test targets: running other tools (parcheck.py, GNU tar, python3),
        // the built `par`, the fixtures, and archives written or crafted for a test.
        .target(name: "PARTestSupport", dependencies: ["PARBytes", "PARContainer"], path: "Tests/PARTestSupport"),
        // Library-level throughput figures for scripts/benchmark.py.
        .executableTarget(
            name: "par-bench",
            dependencies: ["ProviderArchiveKit", "PARBytes", "PARContainer", .product(name: "Crypto", package: "swift-crypto")],
            path: "Benchmarks/par-bench"
        ),
        .testTarget(name: "PARBytesTests", dependencies: ["PARBytes", "PARTestSupport"]),
        .testTarget(name: "PARNKeysTests", dependencies: ["PARNKeys", "PARBytes", "PARTestSupport"]),
        .testTarget(name: "PARClaimsTests", dependencies: ["PARClaims", "PARNKeys", "PARBytes"]),
        .testTarget(name: "PARContainerTests", dependencies: ["PARContainer", "PARBytes", "PARTestSupport"]),
        .testTarget(
            name: "ProviderArchiveKitTests",
            dependencies: ["ProviderArchiveKit", "PARClaims", "PARNKeys", "PARContainer", "PARBytes", "PARTestSupport"]
        ),
        .testTarget(
            name: "PARRegistryTests",
            dependencies: ["PARRegistry", "ProviderArchiveKit", "PARClaims", "PARNKeys", "PARBytes", "PARTestSupport"]
        ),
        .testTarget(
            name: "PARHostTests",
            dependencies: ["PARHost", "PARRegistry", "ProviderArchiveKit", "PARClaims", "PARNKeys", "PARBytes", "PARTestSupport"]
        ),
        .testTarget(
            name: "parTests",
            dependencies: [
                "par", "ProviderArchiveKit", "PARClaims", "PARNKeys", "PARBytes", "PARTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    guard !target.name.hasPrefix("C") else { continue }
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
}
