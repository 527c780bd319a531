import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserAPITests {
    typealias F = ConfigFixture

    @Test func parsesEveryAPIOption() throws {
        let api = try F.parse(
            F.withAPI(
                #""socket": "/run/tp.sock", "socket_mode": "600", "socket_group": "tokenproxy", "allowed_uids": [0, 1001], "allowed_gids": [], "tcp": {"listen": "[::1]:0", "required_header": "X-Token-Proxy", "required_header_value": "yes please"}"#
            )
        ).api
        #expect(api.socket == "/run/tp.sock")
        #expect(api.socketMode == 0o600)
        #expect(api.allowedUIDs == [0, 1001])
        #expect(api.allowedGIDs == [])
        #expect(
            api.tcp
                == TCPListenerConfiguration(
                    host: "::1", port: 0, requiredHeader: "X-Token-Proxy",
                    requiredHeaderValue: "yes please"))
    }

    @Test func parsesAndBoundsMaxConnections() throws {
        #expect(try F.parse(F.withAPI(#""max_connections": 10000"#)).api.maxConnections == 10000)
        #expect(try F.parse(F.withAPI(#""socket": "/run/tp.sock""#)).api.maxConnections == 1024)
        let problems = F.problems(F.withAPI(#""max_connections": 0"#))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("api.max_connections:") == true)
        #expect(F.problems(F.withAPI(#""max_connections": 1.5"#)).count == 1)
    }

    @Test func defaultsTheTCPHeaderCheck() throws {
        let tcp = try F.parse(F.withAPI(#""tcp": {"listen": "127.0.0.1:8181"}"#)).api.tcp
        #expect(tcp?.requiredHeader == "Metadata-Flavor")
        #expect(tcp?.requiredHeaderValue == "tokenproxy")
    }

    @Test(arguments: ["127.0.0.1:8181", "127.1.2.3:1", "[::1]:65535"])
    func acceptsLoopbackListenAddresses(_ listen: String) {
        #expect(F.problems(F.withAPI(#""tcp": {"listen": "\#(listen)"}"#)) == [])
    }

    @Test(arguments: [
        "0.0.0.0:8181", "10.0.0.1:80", "[::]:80", "128.0.0.1:80", "127.0.0.01:80",
        "[::ffff:127.0.0.1]:80",
    ])
    func refusesNonLoopbackListenAddresses(_ listen: String) {
        let problems = F.problems(F.withAPI(#""tcp": {"listen": "\#(listen)"}"#))
        #expect(problems.count == 1)
        #expect(problems.first?.contains("is not a loopback address") == true)
    }

    @Test(arguments: [
        "127.0.0.1:+80", "127.0.0.1:080", "127.0.0.1:", "[::1]:65536", "127.0.0.1:8 1",
    ])
    func refusesMalformedPorts(_ listen: String) {
        let problems = F.problems(F.withAPI(#""tcp": {"listen": "\#(listen)"}"#))
        #expect(problems.count == 1)
        #expect(
            problems.first?.hasPrefix("api.tcp.listen: port must be a number from 0 to 65535")
                == true)
    }

    @Test func refusesNamesAndMalformedListenAddresses() {
        #expect(
            F.problems(F.withAPI(#""tcp": {"listen": "localhost:8181"}"#))
                == [
                    #"api.tcp.listen: use an address, not a name: "127.0.0.1:8181" or "[::1]:8181""#
                ])
        #expect(
            F.problems(F.withAPI(#""tcp": {"listen": "127.0.0.1:70000"}"#)) == [
                #"api.tcp.listen: port must be a number from 0 to 65535 without leading zeros (got "70000")"#
            ])
        #expect(
            F.problems(F.withAPI(#""tcp": {"listen": "127.0.0.1"}"#)).first?.hasPrefix(
                "api.tcp.listen: must be ADDRESS:PORT") == true)
        #expect(F.problems(F.withAPI(#""tcp": {}"#)) == ["api.tcp.listen: required key is missing"])
    }

    @Test func checksTheRequiredHeader() {
        #expect(
            F.problems(
                F.withAPI(
                    #""tcp": {"listen": "127.0.0.1:1", "required_header": "Bad Header", "required_header_value": " x"}"#
                )) == [
                    "api.tcp.required_header: must be an HTTP field name: letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §5.1)",
                    "api.tcp.required_header_value: must be visible ASCII without leading or trailing spaces (RFC 9110 §5.5)",
                ])
    }

    @Test(arguments: ["660", "0660", "0600", "777", "000"])
    func acceptsOctalSocketModes(_ mode: String) throws {
        let parsed = try F.parse(F.withAPI(#""socket_mode": "\#(mode)""#)).api.socketMode
        #expect(parsed == UInt32(mode, radix: 8))
    }

    @Test(arguments: ["0o660", "0x1b0", "1660", "680", "66"])
    func refusesOtherSocketModes(_ mode: String) {
        #expect(
            F.problems(F.withAPI(#""socket_mode": "\#(mode)""#)) == [
                #"api.socket_mode: must be an octal string like "0660" (got "\#(mode)")"#
            ])
    }

    @Test func checksTheSocketPath() {
        #expect(
            F.problems(F.withAPI(#""socket": "run/x.sock""#)) == [
                #"api.socket: must be an absolute path like "/run/tokenproxy/tokenproxy.sock""#
            ])
        let long = "/" + String(repeating: "a", count: 107)
        #expect(
            F.problems(F.withAPI(#""socket": "\#(long)""#)).first?.hasPrefix(
                "api.socket: is 108 bytes long") == true)
        #expect(F.problems(F.withAPI(#""socket": "/run/""#)).count == 1)
    }

    @Test func checksGroupNames() {
        #expect(F.problems(F.withAPI(#""socket_group": "tokenproxy""#)) == [])
        #expect(F.problems(F.withAPI(#""socket_group": "1001""#)).count == 1)
        #expect(F.problems(F.withAPI(#""socket_group": "a b""#)).count == 1)
    }

    @Test func refusesNegativeFractionalAndWrongTypedIDs() {
        #expect(
            F.problems(F.withAPI(#""allowed_uids": [-1, 1.5, "0"], "allowed_gids": 5"#)) == [
                "api.allowed_uids[0]: must be between 0 and 4294967294 (got -1)",
                "api.allowed_uids[1]: must be a whole number (got 1.5)",
                "api.allowed_uids[2]: expected a number, got a string",
                "api.allowed_gids: expected an array of numbers, got a number",
            ])
    }

    @Test func suggestsAPIKeys() {
        #expect(
            F.problems(F.withAPI(#""allowed_uid": [0]"#)) == [
                "api.allowed_uid: unknown key; did you mean 'allowed_uids'?"
            ])
        #expect(
            F.problems(F.withAPI(#""socketMode": "0660""#)) == [
                "api.socketMode: unknown key; did you mean 'socket_mode'?"
            ])
    }

    @Test func tellsToDropNullsForDefaults() {
        #expect(
            F.problems(F.withAPI(#""socket": null"#)) == [
                "api.socket: expected a string, got null; leave the key out to use the default"
            ])
        #expect(
            F.problems(F.withAPI(#""tcp": null"#)) == [
                "api.tcp: expected an object, got null; leave the key out to use the default"
            ])
    }
}

extension ConfigurationParserAPITests {
    @Test func parsesEventLoops() throws {
        #expect(try F.parse(F.withAPI(#""event_loops": 3"#)).api.eventLoops == 3)
        #expect(try F.parse(F.withAPI(#""socket": "/run/tp.sock""#)).api.eventLoops == nil)
    }

    @Test func refusesEventLoopsThatAreNotAPositiveWholeNumber() {
        for bad in ["0", "-1", "1.5", "2000"] {
            let problems = F.problems(F.withAPI(#""event_loops": \#(bad)"#))
            #expect(problems.count == 1)
            #expect(problems.first?.hasPrefix("api.event_loops: ") == true, "\(problems)")
        }
        #expect(
            F.problems(F.withAPI(#""event_loops": "2""#)).first?.hasPrefix("api.event_loops: ")
                == true)
    }

    @Test func parsesBusyPoll() throws {
        #expect(try F.parse(F.withAPI(#""busy_poll_us": 0"#)).api.busyPollMicroseconds == 0)
        #expect(try F.parse(F.withAPI(#""busy_poll_us": 50"#)).api.busyPollMicroseconds == 50)
        #expect(
            try F.parse(F.withAPI(#""socket": "/run/tp.sock""#)).api.busyPollMicroseconds == nil)
    }

    @Test func refusesABusyPollThatIsNotAWholeNumberOfMicrosecondsUpToAMillisecond() {
        for bad in ["-1", "2.5", "1001", #""30""#] {
            let problems = F.problems(F.withAPI(#""busy_poll_us": \#(bad)"#))
            #expect(problems.count == 1)
            #expect(problems.first?.hasPrefix("api.busy_poll_us: ") == true, "\(problems)")
        }
    }
}
