// swift-tools-version:6.0
// The fuzz target for the reading side: a package of its own, so the main package's plain
// builds never link a harness that needs libFuzzer. Built and run by ../scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "par-fuzz",
    dependencies: [.package(name: "swift-provider-archive", path: "..")],
    targets: [
        // Declares libFuzzer's driver entry point, which -sanitize=fuzzer links in.
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "par-fuzz",
            dependencies: ["CFuzzerDriver", .product(name: "ProviderArchiveKit", package: "swift-provider-archive")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
