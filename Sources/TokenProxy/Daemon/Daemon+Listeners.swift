import Logging
import TokenProxyCore
import TokenProxyNet

/// Listener changes on reload: the running servers change their listener SET (see
/// `ConnectionShell.updateListeners`) instead of being replaced, so an address that stays keeps
/// its socket (no connection refused in between, no re-bind race) and a moved one is bound
/// before the old one closes. A bind failure refuses that server's listener change — its old
/// listeners stay, named by JSON path in the log — while tokens and routes still reload.
/// Sockets systemd passed are systemd's: they are never moved.
extension Daemon {
    /// The token API's own listeners and the addresses they were bound for.
    struct APIListeners: Sendable {
        /// True when systemd passed the API's sockets (the configured path is unused).
        var inherited: Bool
        /// The Unix socket we created and its path (nil when inherited).
        var socket: (path: String, listener: Listener)?
        /// The loopback TCP listener and its `api.tcp` address, when configured.
        var tcp: (host: String, port: UInt16, listener: Listener)?
        /// systemd's sockets (never moved by a reload).
        var inheritedListeners: [Listener] = []

        var all: [Listener] {
            inheritedListeners + [socket?.listener, tcp?.listener].compactMap { $0 }
        }
    }

    /// systemd's sockets when socket-activated (`FileDescriptorName=api`, or all of them),
    /// otherwise the configured socket; plus the optional loopback TCP listener.
    func listeners(for api: APIConfiguration) throws -> APIListeners {
        var result = APIListeners(inherited: false)
        var inheritedListeners: [Listener] = []
        let inherited = Self.inheritedSockets.filter { $0.name != Self.proxySocketName }
        if inherited.isEmpty {
            result.socket = (
                api.socket,
                try Listener.unix(path: api.socket, mode: api.socketMode, group: api.socketGroup)
            )
        } else {
            result.inherited = true
            for socket in inherited {
                inheritedListeners.append(
                    try Listener.inherited(fileDescriptor: socket.fileDescriptor, name: socket.name)
                )
            }
        }
        result.inheritedListeners = inheritedListeners
        if let tcp = api.tcp {
            result.tcp = (tcp.host, tcp.port, try Listener.tcp(host: tcp.host, port: Int(tcp.port)))
        }
        return result
    }

    /// Applies `configuration`'s `api.socket`, `api.tcp`, `proxy` and `operations` listen
    /// settings to the running servers; `proxyRouter` is the reloaded proxy's router.
    func reloadListeners(
        _ configuration: Configuration, proxyRouter: ProxyRouter?, store: TokenStore,
        running current: Running
    ) async {
        await reloadAPIListeners(configuration.api, running: current)
        await reloadProxy(
            proxyRouter, configuration: configuration, store: store, running: current)
        await reloadOperations(configuration.operations, running: current)
    }

    /// Moves the token API's Unix socket and TCP listener when their addresses changed.
    private func reloadAPIListeners(_ api: APIConfiguration, running current: Running) async {
        var state = current.apiListeners
        var adding: [Listener] = []
        var removing: [Listener] = []
        var changes: [(String, String)] = []
        do {
            if state.inherited {
                if api.socket != current.apiSocketPath {
                    logger.info(
                        "api.socket changed, but systemd passed the API's sockets; they stay as systemd made them"
                    )
                }
            } else if let socket = state.socket, socket.path != api.socket {
                let listener: Listener
                do {
                    listener = try Listener.unix(
                        path: api.socket, mode: api.socketMode, group: api.socketGroup)
                } catch { throw ListenerReloadError(path: "api.socket", error: error) }
                adding.append(listener)
                removing.append(socket.listener)
                changes += [("removed", socket.path), ("added", api.socket)]
                state.socket = (api.socket, listener)
            }
            let wanted = api.tcp.map { ($0.host, $0.port) }
            let have = state.tcp.map { ($0.host, $0.port) }
            if wanted?.0 != have?.0 || wanted?.1 != have?.1 {
                if let wanted {
                    let listener: Listener
                    do {
                        listener = try Listener.tcp(host: wanted.0, port: Int(wanted.1))
                    } catch { throw ListenerReloadError(path: "api.tcp.listen", error: error) }
                    adding.append(listener)
                    changes.append(("added", "\(wanted.0):\(wanted.1)"))
                    state.tcp = (wanted.0, wanted.1, listener)
                } else {
                    state.tcp = nil
                }
                if let old = current.apiListeners.tcp {
                    removing.append(old.listener)
                    changes.append(("removed", "\(old.host):\(old.port)"))
                }
            }
        } catch {
            for listener in adding { listener.close() }
            logger.error("\(error); the token API keeps its listeners")
            return
        }
        guard !adding.isEmpty || !removing.isEmpty else {
            updateRunning { $0.apiSocketPath = api.socket }
            return
        }
        await current.server.updateListeners(adding: adding, removing: removing)
        updateRunning {
            $0.apiListeners = state
            $0.apiSocketPath = api.socket
        }
        for (change, address) in changes {
            logger.info("token API listener \(change)", metadata: ["address": "\(address)"])
        }
    }

    /// Starts the operations server when the section was added, stops it when removed, and
    /// moves its listener when the address changed.
    private func reloadOperations(_ wanted: OperationsConfiguration?, running current: Running)
        async
    {
        guard wanted != current.operationsAddress else { return }
        switch (current.operations, wanted) {
        case (let server?, nil):
            await server.shutdown(gracePeriod: options.drainTimeout)
            updateRunning {
                $0.operations = nil
                $0.operationsAddress = nil
            }
            logger.info(
                "operations listener removed",
                metadata: ["address": "\(Self.describe(current.operationsAddress))"])
        case (nil, let wanted?):
            do {
                let server = try makeOperationsServer(wanted, tokens: current.handler)
                server?.start()
                updateRunning {
                    $0.operations = server
                    $0.operationsAddress = wanted
                }
                logger.info(
                    "operations listener added", metadata: ["address": "\(Self.describe(wanted))"])
            } catch {
                logger.error("\(error.message); no operations listener")
            }
        case (let server?, let wanted?):
            let listener: Listener
            do {
                listener = try Listener.tcp(host: wanted.host, port: Int(wanted.port))
            } catch {
                logger.error(
                    "\(ListenerReloadError(path: "operations.listen", error: error).description); the operations listener stays"
                )
                return
            }
            await server.updateListeners(adding: [listener], removing: server.listeners)
            updateRunning { $0.operationsAddress = wanted }
            logger.info(
                "operations listener moved",
                metadata: [
                    "from": "\(Self.describe(current.operationsAddress))",
                    "address": "\(Self.describe(wanted))",
                ])
        case (nil, nil):
            return
        }
    }

    static func describe(_ operations: OperationsConfiguration?) -> String {
        operations.map { "\($0.host):\($0.port)" } ?? "-"
    }
}

/// A listener a reload could not bind: which setting (JSON path), and why.
struct ListenerReloadError: Error, CustomStringConvertible {
    var path: String
    var error: any Error

    var description: String {
        "reload cannot listen at \(path): \(error) (is the address in use or the directory missing?)"
    }
}
