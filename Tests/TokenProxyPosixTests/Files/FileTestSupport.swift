import Glibc
import Testing

/// A private temporary directory, removed with everything in it when the value is dropped.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/tokenproxy-posix-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: try #require(made))
    }

    deinit {
        // Test cleanup only; the code under test never shells out.
        _ = system("rm -rf '\(path)'")
    }

    /// Writes `text` to `name` inside the directory with `mode`, returning the path.
    @discardableResult
    func file(_ name: String, _ text: String, mode: mode_t = 0o600) -> String {
        let path = self.path + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        precondition(fd >= 0)
        _ = text.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) }
        _ = fchmod(fd, mode)
        _ = close(fd)
        return path
    }

    /// The contents of `path`, or nil if it cannot be read.
    static func contents(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while true {
            let c = fgetc(file)
            if c == EOF { break }
            bytes.append(UInt8(c))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
