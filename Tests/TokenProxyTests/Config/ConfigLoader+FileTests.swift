import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxy

/// Reading the configuration file (`ConfigLoader+File`); choosing its path is tested in Core.
@Suite(.timeLimit(.minutes(1)))
struct ConfigLoaderFileTests {
    /// The smallest valid credential body.
    static let credential =
        #""key_file": "/etc/tokenproxy/a.json", "issuer": "https://idp.example.com""#

    /// A private temporary directory per test, removed afterwards by the caller.
    func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/tokenproxy-config-XXXXXX").utf8CString)
        let path = try #require(
            template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) })
        return String(cString: path)
    }

    @Test func loadsAFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/config.json"
        try Data(#"{"credentials": {"a": {\#(Self.credential)}}}"#.utf8).write(
            to: URL(fileURLWithPath: path))
        #expect(try ConfigLoader.load(path: path).credentials.map(\.name) == ["a"])
    }

    @Test func labelsProblemsWithThePath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/config.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigurationError.self) { try ConfigLoader.load(path: path) }
        do {
            _ = try ConfigLoader.load(path: path)
        } catch {
            #expect(error.description.hasPrefix(path + ": credentials: required key is missing"))
        }
    }

    @Test func explainsMissingFilesAndDirectories() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (path, expected) in [
            (directory + "/missing.json", "no such file"), (directory, "is a directory"),
        ] {
            do {
                _ = try ConfigLoader.load(path: path)
                Issue.record("loaded \(path)")
            } catch {
                #expect(error.file == path)
                #expect(error.problems.count == 1)
                #expect(error.problems.first?.path == "")
                #expect(error.problems.first?.message.hasPrefix(expected) == true)
            }
        }
    }

    @Test func refusesOversizedFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/big.json"
        try Data(repeating: 0x20, count: Limits.Config.maxFileBytes + 1).write(
            to: URL(fileURLWithPath: path))
        #expect(throws: ConfigurationError.self) { try ConfigLoader.load(path: path) }
    }

    @Test func explainsUnreadableFiles() throws {
        guard getuid() != 0 else { return }  // root reads anything
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/config.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0)
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("loaded an unreadable file")
        } catch {
            #expect(error.problems.first?.message.hasPrefix("permission denied") == true)
        }
    }

    @Test func namesTheSizeOfOversizedFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/big.json"
        try Data(repeating: 0x20, count: Limits.Config.maxFileBytes + 1).write(
            to: URL(fileURLWithPath: path))
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("loaded an oversized file")
        } catch {
            #expect(
                error.problems.first?.message
                    == "is \(Limits.Config.maxFileBytes + 1) bytes; a configuration file may "
                    + "be at most \(Limits.Config.maxFileBytes) bytes")
        }
    }
}
