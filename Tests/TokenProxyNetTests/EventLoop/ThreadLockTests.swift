import Foundation
import Testing

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct ThreadLockTests {
    /// Exclusive sections from many threads never lose an update; shared readers see whole
    /// values only.
    @Test func exclusiveAndSharedAccessFromManyThreads() {
        let lock = ThreadLock((count: 0, mirror: 0))
        let threads = 8
        let increments = 10_000
        DispatchQueue.concurrentPerform(iterations: threads * 2) { index in
            if index % 2 == 0 {
                for _ in 0..<increments {
                    lock.withLock {
                        $0.count += 1
                        $0.mirror += 1
                    }
                }
            } else {
                for _ in 0..<increments {
                    let torn = lock.withReadLock { $0.count != $0.mirror }
                    #expect(!torn)
                }
            }
        }
        #expect(lock.withReadLock { $0.count } == threads * increments)
    }
}
