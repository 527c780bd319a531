import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct FileDescriptorTests {
    /// Whether `fd` is an open descriptor of this process.
    static func isOpen(_ fd: Int32) -> Bool {
        fcntl(fd, F_GETFD) != -1
    }

    @Test func closeReleasesTheDescriptor() throws {
        let file = try Posix.open("/dev/null", flags: O_RDONLY)
        let number = file.rawValue
        #expect(Self.isOpen(number))
        try file.close()
        #expect(!Self.isOpen(number))
    }

    @Test func droppingTheOwnerCloses() throws {
        var number: Int32 = -1
        do {
            let file = try Posix.open("/dev/null", flags: O_RDONLY)
            number = file.rawValue
            #expect(Self.isOpen(number))
        }
        #expect(!Self.isOpen(number))
    }

    @Test func releaseHandsOverWithoutClosing() throws {
        let number = try Posix.open("/dev/null", flags: O_RDONLY).release()
        #expect(Self.isOpen(number))
        try Posix.close(number)
        #expect(!Self.isOpen(number))
    }

    @Test func opensCloseOnExec() throws {
        let file = try Posix.open("/dev/null", flags: O_RDONLY)
        #expect(fcntl(file.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func eventCounterWakesAPoll() throws {
        let counter = try Posix.eventCounter()
        #expect(!Poll.isReadableOrClosed(fd: counter.rawValue))
        var one: UInt64 = 1
        let written = try withUnsafeBytes(of: &one) { try Posix.write(counter.rawValue, $0) }
        #expect(written == .done(8))
        #expect(try Poll.wait(fd: counter.rawValue, for: Int16(POLLIN), until: .now + .seconds(5)))
        var value: UInt64 = 0
        _ = try withUnsafeMutableBytes(of: &value) { try Posix.read(counter.rawValue, into: $0) }
        #expect(value == 1)
        let empty = try withUnsafeMutableBytes(of: &value) {
            try Posix.read(counter.rawValue, into: $0)
        }
        #expect(empty == .wouldBlock)
    }

    @Test func epollReportsTheRegisteredToken() throws {
        let epoll = try Posix.epollCreate()
        let counter = try Posix.eventCounter()
        try Posix.epollControl(
            epoll.rawValue, .add, fd: counter.rawValue, events: Epoll.input, token: 42)
        var one: UInt64 = 1
        _ = try withUnsafeBytes(of: &one) { try Posix.write(counter.rawValue, $0) }
        var events = [UInt32](repeating: 0, count: 4)
        var tokens = [UInt64](repeating: 0, count: 4)
        let count = try events.withUnsafeMutableBufferPointer { events in
            try tokens.withUnsafeMutableBufferPointer { tokens in
                try Posix.epollWait(epoll.rawValue, events: events, tokens: tokens, timeout: 5000)
            }
        }
        #expect(count == 1)
        #expect(tokens[0] == 42)
        #expect(events[0] & Epoll.input != 0)
    }
}
