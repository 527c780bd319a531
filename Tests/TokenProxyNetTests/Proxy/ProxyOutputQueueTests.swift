import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The backpressure rule and the chunk framing of the proxy's output queues, without sockets.
@Suite
struct ProxyOutputQueueTests {
    @Test func acceptsMoreOnlyUpToItsBound() {
        var queue = ProxyOutputQueue(bound: 10)
        queue.append([UInt8](repeating: 1, count: 10))
        #expect(queue.acceptsMore)
        queue.append([2])
        #expect(!queue.acceptsMore)
        queue.consumed(5)
        #expect(queue.count == 6 && queue.acceptsMore)
        #expect(queue.peak == 11)
    }

    @Test func sendsInOrderAcrossPartialWrites() {
        var queue = ProxyOutputQueue(bound: 4)
        queue.append(Array("abcdef".utf8))
        var sent: [UInt8] = []
        queue.send { bytes in
            sent += bytes.prefix(4)
            return 4
        }
        queue.append(Array("gh".utf8))
        queue.send { bytes in
            sent += bytes
            return bytes.count
        }
        #expect(String(decoding: sent, as: UTF8.self) == "abcdefgh")
        #expect(queue.isEmpty)
    }

    @Test func framesChunksInHex() {
        var queue = ProxyOutputQueue()
        queue.appendChunk([UInt8](repeating: 0x78, count: 26))
        queue.appendChunk([UInt8]())
        #expect(
            String(decoding: queue.bytes, as: UTF8.self) == "1a\r\n"
                + String(repeating: "x", count: 26) + "\r\n")
    }

    /// A head written in place (`appendHead`) follows what is queued, starts over in a
    /// drained queue, counts toward the peak, and reuses the storage the queue kept.
    @Test func appendsAHeadWrittenInPlace() {
        var queue = ProxyOutputQueue(bound: 64)
        queue.append(Array("ab".utf8))
        queue.appendHead(capacity: 16) { $0.write("cd") }
        #expect(String(decoding: queue.bytes, as: UTF8.self) == "abcd")
        #expect(queue.peak == 4)
        queue.consumed(4)
        let capacity = queue.storageBytes
        queue.appendHead(capacity: 8) { $0.field("X", "y") }
        #expect(String(decoding: queue.bytes, as: UTF8.self) == "X: y\r\n")
        #expect(queue.count == 6 && queue.storageBytes == capacity)
    }

    /// Appends of every size between partial sends: whether the queued bytes move to the
    /// front of the storage, the storage grows, or the queue starts over, what goes out is
    /// what went in, in order.
    @Test func keepsTheOrderWhenItsStorageMovesOrGrows() {
        var queue = ProxyOutputQueue(bound: 1 << 20)
        var expected: [UInt8] = []
        var sent: [UInt8] = []
        var next: UInt8 = 0
        for round in 0..<300 {
            var piece: [UInt8] = []
            for _ in 0..<(round * 37 % 700 + 1) {
                next &+= 1
                piece.append(next)
            }
            queue.append(piece)
            expected += piece
            let take = round % 5 == 0 ? queue.count : queue.count / 2 + round % 2
            queue.send { bytes in
                sent += bytes.prefix(take)
                return min(take, bytes.count)
            }
        }
        queue.send { bytes in
            sent += bytes
            return bytes.count
        }
        #expect(queue.isEmpty)
        #expect(sent == expected)
    }

    @Test func givesALargeBufferBackOnceDrained() {
        var queue = ProxyOutputQueue(bound: 8)
        queue.append([UInt8](repeating: 0, count: 10_000))
        queue.consumed(10_000)
        #expect(queue.isEmpty && queue.storageBytes < 10_000)
        queue.append([UInt8](repeating: 0, count: 100))
        queue.consumed(100)
        #expect(queue.storageBytes >= 100)
    }
}
