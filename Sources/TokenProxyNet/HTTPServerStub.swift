// TEMPORARY: lets main build until the real HTTPServer lands (deleted at that merge).

package struct HTTPServerConfiguration: Sendable {
    package init() {}
}

package struct Listener: Sendable {
    package static func unix(path: String, mode: UInt32, group: String?) throws -> Listener {
        fatalError("HTTPServer not merged yet")
    }
    package static func tcp(host: String, port: Int) throws -> Listener {
        fatalError("HTTPServer not merged yet")
    }
    package static func inherited(fileDescriptor: Int32, name: String) throws -> Listener {
        fatalError("HTTPServer not merged yet")
    }
}

package final class HTTPServer: Sendable {
    package init(listeners: [Listener], handler: any HTTPServerHandler, configuration: HTTPServerConfiguration)
        throws
    {}
    package func start() throws {}
    package func shutdown(gracePeriod: Duration) async {}
}
