internal import CSystemd
import FoundationEssentials
import Glibc

/// Listening sockets handed over by systemd (`tokenproxy.socket`, sd_listen_fds(3)).
package enum SocketActivation {
    /// One inherited descriptor and the `FileDescriptorName=` systemd gave it.
    package struct InheritedSocket: Sendable, Equatable {
        package var fileDescriptor: Int32
        package var name: String
    }

    /// The sockets passed to this process, starting at fd 3. Unsets the `LISTEN_*` variables
    /// so children do not inherit them. Empty when not socket-activated.
    /// The corresponding C function is `sd_listen_fds_with_names`.
    package static func inheritedSockets() -> [InheritedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<Int(count)).map { index in
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            return InheritedSocket(fileDescriptor: SD_LISTEN_FDS_START + Int32(index), name: name)
        }
    }
}
