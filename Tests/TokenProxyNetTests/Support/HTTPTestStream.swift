import Synchronization
import TokenProxyCore

@testable import TokenProxyNet

/// A scripted in-memory `ByteStream` playing the server: each completed write (one request)
/// releases the next scripted response into the readable bytes. Reads hand out at most
/// `readChunk` bytes to exercise split handling. With nothing readable, a read returns end of
/// stream once the "server" closed (`peerClosed`), and times out otherwise, as an idle live
/// connection does.
final class HTTPTestStream: ByteStream, Sendable {
    private struct State {
        var responses: [[UInt8]]
        var readable: [UInt8] = []
        var written: [UInt8] = []
        var writes = 0
        var peerClosed: Bool
        var closeAfterResponses: Bool
        var writeError: NetError?
        var closed = false
    }

    private let state: Mutex<State>
    let readChunk: Int

    /// `responses` are released one per write; `closeAfterResponses` makes the stream report
    /// end of stream once they are all read.
    init(
        responses: [String] = [], readChunk: Int = 7, closeAfterResponses: Bool = false,
        peerClosed: Bool = false, writeError: NetError? = nil
    ) {
        state = Mutex(
            State(
                responses: responses.map { Array($0.utf8) }, peerClosed: peerClosed,
                closeAfterResponses: closeAfterResponses, writeError: writeError))
        self.readChunk = readChunk
    }

    /// Everything written so far, as text.
    var written: String { state.withLock { String(decoding: $0.written, as: UTF8.self) } }
    var writeCount: Int { state.withLock { $0.writes } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Simulates the server closing the connection.
    func closeFromPeer() { state.withLock { $0.peerClosed = true } }

    /// Simulates the server closing just as the next request arrives: the write succeeds, the
    /// response never comes.
    func dropNextResponseAndClose() {
        state.withLock { state in
            if !state.responses.isEmpty { state.responses.removeFirst() }
            state.responses.insert([], at: 0)
            state.closeAfterResponses = true
        }
    }

    /// Makes every later write fail with `error` (such as EPIPE after a reset).
    func failWrites(with error: NetError) { state.withLock { $0.writeError = error } }

    func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        try state.withLock { state in
            if state.closed { throw NetError.syscall(name: "read", errno: 9) }
            if state.readable.isEmpty {
                if state.peerClosed || (state.closeAfterResponses && state.responses.isEmpty) {
                    return []
                }
                throw NetError.timedOut(operation: "read from test stream")
            }
            let count = min(maxLength, readChunk, state.readable.count)
            defer { state.readable.removeFirst(count) }
            return Array(state.readable.prefix(count))
        }
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        try state.withLock { state in
            if let error = state.writeError { throw error }
            state.written += bytes
            state.writes += 1
            if !state.responses.isEmpty && !state.peerClosed {
                state.readable += state.responses.removeFirst()
            }
        }
    }

    func close() { state.withLock { $0.closed = true } }
}

/// Hands out scripted streams in order and records what the client asked for.
final class HTTPTestTransport: Sendable {
    private struct State {
        var streams: [HTTPTestStream]
        var connects: [String] = []
        var tlsServerNames: [String] = []
    }

    private let state: Mutex<State>

    init(_ streams: [HTTPTestStream]) { state = Mutex(State(streams: streams)) }

    /// `host port` of every TCP connect, in order.
    var connects: [String] { state.withLock { $0.connects } }
    var tlsServerNames: [String] { state.withLock { $0.tlsServerNames } }

    var transport: HTTPClientTransport {
        HTTPClientTransport(
            connect: { host, port, _ in
                try self.state.withLock { state in
                    state.connects.append("\(host) \(port)")
                    guard !state.streams.isEmpty else {
                        throw NetError.connect(host: host, port: port, errno: 111)
                    }
                    return state.streams.removeFirst()
                }
            },
            startTLS: { stream, serverName, _ in
                self.state.withLock { $0.tlsServerNames.append(serverName) }
                return stream  // pretend: the test stream carries "TLS" in clear
            })
    }

    func client(_ configuration: HTTPClientConfiguration = HTTPClientConfiguration()) -> HTTPClient
    {
        HTTPClient(configuration: configuration, transport: transport)
    }
}

let farFuture = ContinuousClock.now + .seconds(3600)
