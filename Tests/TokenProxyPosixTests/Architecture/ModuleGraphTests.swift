import Foundation
import Testing

/// Keeps the module rules of ARCHITECTURE.md true: no module imports upward, and each C module
/// is imported `internal` by exactly one Swift module (so no C type escapes its wrapper).
@Suite(.timeLimit(.minutes(1)))
struct ModuleGraphTests {
    /// Our modules each module may import (system and toolchain modules aside). Arrows point
    /// down: `TokenProxyCore` at the bottom imports nothing of ours.
    static let allowed: [String: Set<String>] = [
        "TokenProxyCore": [],
        "TokenProxyPosix": ["CLinuxShims"],
        "TokenProxyCrypto": ["TokenProxyCore", "TokenProxyPosix", "COpenSSL"],
        "TokenProxyNet": ["TokenProxyCore", "TokenProxyPosix", "TokenProxyCrypto"],
        "TokenProxySystemd": ["TokenProxyPosix", "CSystemd", "Logging"],
        "TokenProxy": [
            "TokenProxyCore", "TokenProxyPosix", "TokenProxyCrypto", "TokenProxyNet",
            "TokenProxySystemd", "Logging",
        ],
        "TokenProxyDev": [
            "TokenProxy", "TokenProxyCore", "TokenProxyPosix", "TokenProxyCrypto",
            "TokenProxyNet", "Logging",
        ],
        "TokenProxyTestSupport": ["TokenProxyCore", "TokenProxyPosix", "TokenProxyCrypto"],
        "tokenproxy": [
            "TokenProxy", "TokenProxyDev", "TokenProxyCore", "TokenProxySystemd",
            "ArgumentParser", "Logging",
        ],
    ]
    /// Modules of the toolchain and the system every module may use.
    static let system: Set<String> = [
        "Foundation", "FoundationEssentials", "Glibc", "Darwin", "Dispatch", "Synchronization",
    ]
    static let cModules: Set<String> = ["COpenSSL", "CSystemd", "CLinuxShims"]

    /// `(module, imported module, the import line)` for every import under `Sources/`.
    static func imports() throws -> [(module: String, imported: String, line: String)] {
        let sources = ArchitectureTests.sources
        var found: [(String, String, String)] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: sources.path)
        where file.hasSuffix(".swift") {
            let module = String(file.prefix { $0 != "/" })
            let text = try String(
                contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
                guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                    words[..<index].allSatisfy({ $0.hasPrefix("@") || $0 == "internal" }),
                    // Swift module names are capitalized; this skips the Python scripts that
                    // test helpers embed in string literals.
                    words[index + 1].first?.isUppercase == true
                else { continue }
                found.append((module, String(words[index + 1]), String(line)))
            }
        }
        return found
    }

    @Test func noModuleImportsUpwardOrSideways() throws {
        let imports = try Self.imports()
        #expect(imports.count > 100)
        let violations = imports.filter { entry in
            guard let allowed = Self.allowed[entry.module] else { return true }
            return !Self.system.contains(entry.imported) && !allowed.contains(entry.imported)
        }.map { "\($0.module): \($0.line)" }
        #expect(violations.isEmpty, "imports outside ARCHITECTURE.md's graph:\n\(violations)")
    }

    /// Modules that may import all of Foundation: the test doubles, which only test targets
    /// link (they drive helper processes with `Process`). Every module of the binary uses
    /// `FoundationEssentials` or nothing, so the binary links neither Foundation's
    /// internationalization nor ICU (tens of MB; see ARCHITECTURE.md, "Footprint").
    static let mayImportFoundation: Set<String> = ["TokenProxyTestSupport"]

    @Test func noProductModuleImportsFoundation() throws {
        let violations = try Self.imports().filter { entry in
            entry.imported == "Foundation" && !Self.mayImportFoundation.contains(entry.module)
        }.map { "\($0.module): \($0.line)" }
        #expect(
            violations.isEmpty,
            "import FoundationEssentials instead (JSON: Core's ConfigJSON/JSONObjectMembers and JSONText; processes: Posix.spawn): \(violations)"
        )
    }

    /// The scan above sees `import Foundation` lines; this makes sure it would.
    @Test func seesFoundationImports() throws {
        let imports = try Self.imports()
        #expect(
            imports.contains { $0.module == "TokenProxyTestSupport" && $0.imported == "Foundation" }
        )
        #expect(
            imports.contains {
                $0.module == "TokenProxyCore" && $0.imported == "FoundationEssentials"
            })
    }

    @Test func eachCModuleIsImportedInternallyByExactlyOneModule() throws {
        let imports = try Self.imports().filter { Self.cModules.contains($0.imported) }
        for cModule in Self.cModules {
            let importers = Set(imports.filter { $0.imported == cModule }.map(\.module))
            #expect(importers.count == 1, "\(cModule) is imported by \(importers.sorted())")
        }
        let notInternal = imports.filter { !$0.line.contains("internal import") }
        #expect(notInternal.isEmpty, "C modules must be imported `internal`: \(notInternal)")
    }
}
