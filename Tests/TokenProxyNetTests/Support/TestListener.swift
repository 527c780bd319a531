import Foundation
import Glibc

/// A minimal listening socket for tests: TCP on a loopback address with port 0, or a Unix socket
/// in its own temporary directory. It accepts exactly one connection on a thread of its own.
final class TestListener: Sendable {
    /// The bound port (0 for a Unix socket).
    let port: Int
    /// The socket path of a Unix listener.
    let path: String?
    private let fd: Int32
    private let directory: String?
    private let finished = DispatchSemaphore(value: 0)

    private init(fd: Int32, port: Int, path: String?, directory: String?) {
        self.fd = fd
        self.port = port
        self.path = path
        self.directory = directory
    }

    deinit {
        _ = Glibc.close(fd)
        if let path { unlink(path) }
        if let directory { rmdir(directory) }
    }

    /// Listens on `host` ("127.0.0.1" or "::1") with a port the kernel picks.
    static func tcp(host: String = "127.0.0.1") throws -> TestListener {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestListenerError.failed("socket", errno) }
        var storage = sockaddr_storage()
        var length: socklen_t
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { target in
                withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, host, &address.sin_addr)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { target in
                withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
            }
        }
        try bindAndListen(fd, &storage, length)
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &boundLength)
            }
        }
        let port = withUnsafeBytes(of: bound) { raw in
            // sin_port and sin6_port sit at the same offset, in network byte order.
            Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
        }
        return TestListener(fd: fd, port: port, path: nil, directory: nil)
    }

    /// Listens on `listener.sock` in a fresh temporary directory.
    static func unix() throws -> TestListener {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/listener.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestListenerError.failed("socket", errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
        }
        try bindAndListen(fd, &storage, socklen_t(MemoryLayout<sockaddr_un>.size))
        return TestListener(fd: fd, port: 0, path: path, directory: directory)
    }

    /// Whether this machine can listen on `::1`.
    static let ipv6LoopbackAvailable: Bool = (try? TestListener.tcp(host: "::1")) != nil

    /// Accepts one connection (giving up after 10 s) on a new thread, runs `handler` with its
    /// blocking descriptor and closes it. `waitUntilFinished()` joins that thread.
    func acceptOne(_ handler: @escaping @Sendable (Int32) -> Void) {
        let fd = self.fd
        let finished = self.finished
        Thread.detachNewThread {
            defer { finished.signal() }
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollFD, 1, 10_000) == 1 else { return }
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            defer { _ = Glibc.close(connection) }
            handler(connection)
        }
    }

    /// Waits (at most 10 s) for the `acceptOne` handler to return.
    func waitUntilFinished() {
        _ = finished.wait(timeout: .now() + 10)
    }

    private static func bindAndListen(
        _ fd: Int32, _ storage: inout sockaddr_storage, _ length: socklen_t
    ) throws {
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let error = errno
            _ = Glibc.close(fd)
            throw TestListenerError.failed("bind/listen", error)
        }
    }
}

/// Why a test fixture could not be set up.
enum TestListenerError: Error {
    case failed(String, Int32)
}

/// A fresh directory under the system temporary directory (mkdtemp).
func makeTemporaryDirectory() throws -> String {
    var template = Array((NSTemporaryDirectory() + "/tokenproxy-net-XXXXXX").utf8CString)
    guard let result = mkdtemp(&template) else { throw TestListenerError.failed("mkdtemp", errno) }
    return String(cString: result)
}

/// Blocking helpers for listener handlers.
enum TestPeer {
    /// Reads until end of stream; returns everything read.
    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return all }
            all += buffer[0..<count]
        }
    }

    /// Writes all of `bytes`.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count <= 0 { return }
            offset += count
        }
    }

    /// Echoes what it reads until end of stream.
    static func echo(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            write(fd, Array(buffer[0..<count]))
        }
    }
}
