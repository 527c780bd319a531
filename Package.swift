// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// tokenproxy: holds OAuth service-user keys, turns them into access tokens, keeps them fresh
/// and hands them to local programs. Module boundaries follow shared/DESIGN.md: C is wrapped
/// by exactly one Swift module each, and `TokenProxyCore` stays free of syscalls and C.
let package = Package(
    name: "tokenproxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenproxy", targets: ["tokenproxy"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "CLinuxShims",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "TokenProxyCore"
        ),
        // The one syscall layer: the only module that calls Glibc I/O functions and the only
        // importer of CLinuxShims. Depends on nothing of ours.
        .target(
            name: "TokenProxyPosix",
            dependencies: ["CLinuxShims"]
        ),
        .target(
            name: "TokenProxyCrypto",
            dependencies: ["TokenProxyCore", "TokenProxyPosix", "COpenSSL"]
        ),
        .target(
            name: "TokenProxyNet",
            dependencies: ["TokenProxyCore", "TokenProxyCrypto", "TokenProxyPosix"]
        ),
        .target(
            name: "TokenProxySystemd",
            dependencies: [
                "CSystemd", "TokenProxyPosix", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TokenProxy",
            dependencies: [
                "TokenProxyCore", "TokenProxyCrypto", "TokenProxyNet", "TokenProxyPosix",
                "TokenProxySystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded throwaway issuer and `tokenproxy dev`: depends on the product modules,
        // never the other way round.
        .target(
            name: "TokenProxyDev",
            dependencies: [
                "TokenProxy", "TokenProxyCore", "TokenProxyCrypto", "TokenProxyNet",
                "TokenProxyPosix",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test doubles (a manual clock, …) shared by the test targets; part of no product.
        .target(
            name: "TokenProxyTestSupport",
            dependencies: ["TokenProxyCore"]
        ),
        .executableTarget(
            name: "tokenproxy",
            dependencies: [
                "TokenProxy", "TokenProxyDev",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "TokenProxyCoreTests", dependencies: ["TokenProxyCore", "TokenProxyTestSupport"]),
        .testTarget(name: "TokenProxyPosixTests", dependencies: ["TokenProxyPosix"]),
        .testTarget(
            name: "TokenProxyCryptoTests",
            dependencies: ["TokenProxyCrypto", "TokenProxyTestSupport"]),
        .testTarget(
            name: "TokenProxyNetTests",
            dependencies: [
                "TokenProxyNet", "TokenProxyCrypto", "TokenProxyPosix", "TokenProxyTestSupport",
            ]),
        .testTarget(
            name: "TokenProxyTests", dependencies: ["TokenProxy", "TokenProxyTestSupport"]),
        .testTarget(name: "TokenProxyDevTests", dependencies: ["TokenProxyDev"]),
    ]
)

// libFuzzer targets (Fuzz/, run by scripts/fuzz): declared only when TOKENPROXY_FUZZ is set, so a
// plain `swift build` and CI never compile them. scripts/fuzz builds them in `.build-fuzz` with
// `-sanitize=fuzzer,address`; libFuzzer supplies `main`, hence `-parse-as-library`.
if ProcessInfo.processInfo.environment["TOKENPROXY_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "tokenproxy-fuzz",
            dependencies: ["TokenProxy", "TokenProxyCore", "TokenProxyCrypto"],
            path: "Fuzz/TokenProxyFuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
}
