import FoundationEssentials

extension DevMode {
    /// What `tokenproxy dev` prints: the session, `export` lines that the README's use cases
    /// are written against, and commands that work as printed — with this binary's full path
    /// when `tokenproxy` on `PATH` is not this binary (a fresh machine after `scripts/run`).
    static func instructions(_ session: Session, executable: String, path: String) -> String {
        let onPath = isOnPath(executable, path: path)
        let tokenproxy = onPath ? "tokenproxy" : shellQuoted(executable)
        let socket = shellQuoted(session.socket)
        let directory =
            executable.lastIndex(of: "/").map {
                $0 == executable.startIndex ? "/" : String(executable[..<$0])
            } ?? ""
        let pathLine = onPath ? "" : "  export PATH=\(shellQuoted(directory)):\"$PATH\"\n"
        return """
            tokenproxy dev: a throwaway issuer at \(session.issuer), the token API on \(session.socket)
            and the proxy on \(session.proxyURL) (keys and config in \(session.directory); stop with Ctrl-C)

            For the README's use cases, paste into another terminal:
            \(pathLine)  export TOKENPROXY_SOCKET=\(socket)
              export TOKENPROXY_DEV=\(shellQuoted(session.directory))
              export TOKENPROXY_PROXY=\(session.proxyURL)
              export ISSUER=\(session.issuer)

            Or try, as printed:
              curl --unix-socket \(socket) http://localhost/v1/tokens/demo
              curl --unix-socket \(socket) -H 'Accept: text/plain' http://localhost/v1/tokens/gateway
              \(tokenproxy) token demo --socket \(socket)
              \(tokenproxy) status --socket \(socket)
              curl -H "$(\(tokenproxy) token demo --socket \(socket) --format header)" \(session.issuer)/oidc/v1/userinfo
              curl -x \(session.proxyURL) http://\(apiHost)/oidc/v1/userinfo
              curl \(session.proxyURL)\(apiPathPrefix)oidc/v1/userinfo
              curl --unix-socket \(socket) --data-urlencode "token=$(\(tokenproxy) token demo --socket \(socket))" http://localhost/v1/introspect/api
              \(tokenproxy) introspect api --socket \(socket) -- "$(\(tokenproxy) token demo --socket \(socket))"
              curl -H "$(\(tokenproxy) token demo --socket \(socket) --format header)" \(session.proxyURL)\(guardedPathPrefix)oidc/v1/userinfo
              curl -s -o /dev/null -w '%{http_code} without a token\\n' \(session.proxyURL)\(guardedPathPrefix)oidc/v1/userinfo
              curl --unix-socket \(socket) http://localhost/metrics
              \(tokenproxy) check --config \(shellQuoted(session.config)) --online

            """
    }

    /// `text` as one shell word: unchanged when it holds only safe characters, else in single
    /// quotes.
    static func shellQuoted(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar))
                    || "/._-+:=@%,".unicodeScalars.contains(scalar))
        }
        if safe && !text.isEmpty { return text }
        return "'" + text.replacing("'", with: "'\\''") + "'"
    }
}
