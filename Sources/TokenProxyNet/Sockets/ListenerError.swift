import Glibc
import TokenProxyPosix

/// Why a listening socket could not be set up. Each message names the socket (path, address or
/// inherited descriptor), what failed and, where there is one, what the operator can do.
package enum ListenerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket path does not fit in `sun_path` (107 bytes on Linux) or is empty.
    case invalidSocketPath(path: String)
    /// Something other than a socket exists at the path; it is never deleted for us.
    case notASocket(path: String)
    /// Another process accepts connections on the socket at the path.
    case socketInUse(path: String)
    /// The group for the socket file does not exist.
    case unknownGroup(group: String, path: String)
    /// The host of a TCP listener could not be resolved.
    case resolve(host: String, message: String)
    /// The port is not in 0...65535.
    case invalidPort(port: Int)
    /// An inherited descriptor is not a listening stream socket (`reason` says which part).
    case notListening(name: String, fileDescriptor: Int32, reason: String)
    /// A system call failed while setting up `socket` (a path, `host:port` or descriptor).
    case syscall(call: String, socket: String, errno: Int32)

    package var description: String {
        switch self {
        case .invalidSocketPath(let path):
            return "invalid Unix socket path '\(path)': it must be 1 to 107 bytes long;"
                + " choose a shorter path"
        case .notASocket(let path):
            return "refusing to replace '\(path)': it exists and is not a socket;"
                + " remove it or choose another socket path"
        case .socketInUse(let path):
            return "another process is already listening on '\(path)';"
                + " stop it or choose another socket path"
        case .unknownGroup(let group, let path):
            return "cannot give socket '\(path)' to group '\(group)': no such group;"
                + " create it or fix the configured group"
        case .resolve(let host, let message):
            return "cannot resolve listen address '\(host)': \(message)"
        case .invalidPort(let port):
            return "invalid listen port \(port): it must be 0 to 65535"
        case .notListening(let name, let fd, let reason):
            return "inherited socket '\(name)' (fd \(fd)) cannot be used: \(reason);"
                + " check the ListenStream= settings of the socket unit"
        case .syscall(let call, let socket, let errno):
            let hint =
                switch errno {
                case EACCES, EPERM: " (check permissions)"
                case EADDRINUSE:
                    " (something already listens on \(socket): another process, or another"
                        + " listener of this configuration; stop it or choose another address)"
                default: ""
                }
            return "cannot set up listening socket \(socket): \(call) failed: "
                + "\(PosixError.reason(errno)) (errno \(errno))\(hint)"
        }
    }
}
