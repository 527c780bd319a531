import Foundation
import Testing

/// Keeps the rule of shared/DESIGN.md true: every syscall goes through `TokenProxyPosix`, the
/// only module that calls the C library's I/O functions and the only importer of `CLinuxShims`.
///
/// It reads every Swift file under `Sources/` outside `TokenProxyPosix` and fails on an
/// `import CLinuxShims` or a call to one of `SyscallScanner`'s functions. Comments are ignored.
@Suite(.timeLimit(.minutes(1)))
struct ArchitectureTests {
    /// The repository's `Sources/` directory, found from this file's path.
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Modules the rule does not apply to: the syscall layer itself, and the test doubles that
    /// only test targets link (they drive helper processes such as `openssl s_server`).
    static let exempt = ["TokenProxyPosix/", "TokenProxyTestSupport/"]

    /// Swift files of every module the rule applies to, relative to `Sources/`.
    static func swiftFilesOutsidePosix() throws -> [String] {
        let files = try FileManager.default.subpathsOfDirectory(atPath: sources.path)
        return files.filter { file in
            file.hasSuffix(".swift") && !exempt.contains { file.hasPrefix($0) }
        }.sorted()
    }

    @Test func findsTheSources() throws {
        let files = try Self.swiftFilesOutsidePosix()
        #expect(files.contains("TokenProxyNet/Sockets/SocketStream.swift"))
        #expect(files.count > 100)
    }

    @Test func onlyThePosixModuleCallsGlibcIOFunctions() throws {
        var violations: [String] = []
        for file in try Self.swiftFilesOutsidePosix() {
            let text = try String(
                contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            violations += SyscallScanner.violations(in: text).map { "\(file): \($0)" }
        }
        #expect(
            violations.isEmpty,
            "call these through TokenProxyPosix (add a wrapper there): \(violations.joined(separator: "; "))"
        )
    }

    @Test func scannerFindsCShapedCallsAndIgnoresOurOwnMethods() {
        let offending = """
            import CLinuxShims
            let fd = open(path, O_RDONLY)
            _ = Glibc.close(fd)
            close(fd)
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            signal(SIGPIPE, SIG_IGN)
            _ = write(
                fd, pointer, count)
            """
        #expect(
            SyscallScanner.violations(in: offending) == [
                "import CLinuxShims", "open(", "Glibc.close(", "close(", "recv(", "signal(",
                "write(",
            ])
        let fine = """
            // close(fd) in a comment is fine, and so is `recv(2)` in a doc comment.
            try Posix.close(fd)
            stream.close()
            close()
            try write(bytes, deadline: deadline)
            send(head, body, isResponse: true)
            func read(maxLength: Int) {}
            case write(Output)
            return connect(head.target)
            """
        #expect(SyscallScanner.violations(in: fine) == [])
    }
}

/// Finds, in Swift source text, calls that only `TokenProxyPosix` may make.
enum SyscallScanner {
    /// C functions whose names we never use for our own methods: any bare call is flagged.
    static let functions = [
        "open", "openat", "creat", "fstat", "lstat", "unlink", "unlinkat", "rename", "renameat",
        "fsync", "fdatasync", "ftruncate", "lseek", "pread", "pwrite", "readv", "writev",
        "socket", "socketpair", "bind", "listen", "accept", "accept4", "recv", "recvfrom",
        "recvmsg", "sendto", "sendmsg", "setsockopt", "getsockopt", "getpeername", "getsockname",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "eventfd", "pipe", "pipe2",
        "dup", "dup2", "dup3", "fcntl", "ioctl", "chmod", "fchmod", "chown", "fchown", "access",
        "mkdir", "rmdir", "symlink", "readlink", "mkstemp", "kill", "sigaction", "sigprocmask",
        "pthread_sigmask", "_exit", "fflush", "fopen", "fclose", "fread", "fwrite", "getaddrinfo",
        "freeaddrinfo", "getgrnam_r", "getpwnam_r", "posix_spawn", "posix_spawnp", "fork",
        "vfork", "execve", "execv", "execvp", "waitpid", "wait4",
    ]
    /// C functions whose names our own types use too (`stream.write(bytes, deadline:)`): flagged
    /// when qualified with `Glibc.` or called bare with C's shape (unlabeled arguments; two or
    /// more, or one for `close`).
    static let ambiguous = [
        "read", "write", "close", "send", "connect", "shutdown", "signal", "poll",
    ]

    /// A call to one of the functions, unqualified or as `Glibc.name(`; not a declaration or an
    /// enum case. Compiled once: swift-corelibs-foundation's `NSRegularExpression` never frees
    /// its compiled pattern (no `deinit`), so one per scanned file leaked ~1.3 KB each
    /// (LeakSanitizer, `scripts/sanitize address`).
    static let regex: NSRegularExpression = {
        let names = (functions + ambiguous).joined(separator: "|")
        let pattern = #"(?:(Glibc\.)|(?<![.\w]))(?<!func )(?<!case )("# + names + #")\s*\("#
        return try! NSRegularExpression(pattern: pattern)
    }()

    /// One entry per offending import or call, in order, like `recv(` or `import CLinuxShims`.
    static func violations(in source: String) -> [String] {
        let text = stripComments(source)
        var found: [String] = []
        for line in text.split(separator: "\n") where line.contains("import CLinuxShims") {
            found.append(String(line.trimmingCharacters(in: .whitespaces)))
        }
        let utf16 = text as NSString
        for match in regex.matches(in: text, range: NSRange(location: 0, length: utf16.length)) {
            let qualified = match.range(at: 1).location != NSNotFound
            let name = utf16.substring(with: match.range(at: 2))
            let arguments = argumentList(
                text, openingAt: match.range.location + match.range.length - 1)
            if qualified {
                found.append("Glibc.\(name)(")
            } else if functions.contains(name) {
                found.append("\(name)(")
            } else if let arguments, !arguments.hasLabel,
                arguments.count >= (name == "close" ? 1 : 2)
            {
                found.append("\(name)(")
            }
        }
        return found
    }

    /// The source without string literals' contents, `//` comments and `/* */` blocks (good
    /// enough for our code, which has no comment markers inside strings that matter here).
    static func stripComments(_ source: String) -> String {
        let source = source.replacingOccurrences(
            of: #"\"\"\"[\s\S]*?\"\"\""#, with: "\"\"", options: .regularExpression
        ).replacingOccurrences(
            of: #"\"(?:[^"\\\n]|\\.)*\""#, with: "\"\"", options: .regularExpression)
        var result = ""
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if let range = line.range(of: "//") {
                result += line[..<range.lowerBound]
            } else {
                result += line
            }
            result += "\n"
        }
        return result.replacingOccurrences(
            of: #"/\*[\s\S]*?\*/"#, with: "", options: .regularExpression)
    }

    /// How many top-level arguments the call whose `(` is at `offset` (UTF-16) has, and whether
    /// any is labeled (`name:` at top level).
    static func argumentList(_ text: String, openingAt offset: Int) -> (count: Int, hasLabel: Bool)?
    {
        let characters = Array((text as NSString).substring(from: offset + 1).utf8)
        var depth = 0
        var commas = 0
        var hasLabel = false
        var sawContent = false
        var inString = false
        for byte in characters {
            if inString {
                if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                sawContent = true
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                sawContent = true
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                if depth == 0 { return (sawContent ? commas + 1 : 0, hasLabel) }
                depth -= 1
            case UInt8(ascii: ","): if depth == 0 { commas += 1 }
            case UInt8(ascii: ":"): if depth == 0 { hasLabel = true }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"): break
            default: sawContent = true
            }
        }
        return nil
    }
}
