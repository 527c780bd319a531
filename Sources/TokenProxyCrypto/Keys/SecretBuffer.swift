internal import COpenSSL

/// A fixed-capacity byte buffer for secrets decoded out of a key file, wiped and freed in
/// `deinit`.
///
/// It is a class over manually allocated memory, not an array, so that no copy-on-write or
/// growth can leave an unwiped copy behind: the capacity is fixed up front, and bytes are only
/// reachable through `withBytes`.
final class SecretBuffer {
    private let storage: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var count = 0

    /// Allocates room for exactly `capacity` bytes.
    init(capacity: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 1), alignment: 1)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        if let base = storage.baseAddress { OPENSSL_cleanse(base, storage.count) }
        storage.deallocate()
    }

    /// Appends one byte; the caller sized the buffer, so overflowing it is a programming error.
    func append(_ byte: UInt8) {
        precondition(count < storage.count, "SecretBuffer overflow")
        storage[count] = byte
        count += 1
    }

    /// Lends the written bytes to `body`; they must not be copied out of it.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// True when the buffer holds exactly the ASCII bytes of `text`.
    func equals(_ text: String) -> Bool {
        withBytes { $0.elementsEqual(text.utf8) }
    }
}
