import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

/// A configured route with everything a request needs precomputed: the match keys, the
/// upstream (pool key), its `Host` value, base path and TLS context.
///
/// A class: the router walks the routes for every request, and copying a struct holding the
/// whole `ProxyRoute` out of the array per candidate cost a retain and release per field.
final class ProxyRouterRoute: Sendable {
    let route: ProxyRoute
    /// `ProxyRoute.name`: unique, used in logs, metrics and bodies.
    let name: String
    /// Lowercased, IPv6 without brackets.
    let host: String?
    let port: Int?
    let upstream: ProxyUpstream
    let hostHeader: String
    /// The upstream URL's path without a trailing `/` (empty for none), percent-encoding kept.
    let basePath: String
    let tls: TLSClientContext?
    /// The prefix a request's path loses (`strip_prefix`), nil when it keeps it.
    let strippedPrefix: String?
    /// `strippedPrefix`'s length in bytes.
    let strippedPrefixCount: Int?
    /// `host`'s and `route.pathPrefix`'s bytes, for matching a request on its bytes
    /// (`matches(host:port:path:)`, ProxyRouter+OriginForm.swift).
    let hostBytes: [UInt8]?
    let prefixBytes: [UInt8]?
    /// Where the route's credential's token is published, when the token source says
    /// (`ProxyTokenSource.snapshotSlot(_:)`): the proxy's fast path reads it there.
    let tokenSlot: SnapshotSlot?
    /// `tokenSlot`, unretained, for the proxy's fast path: a call on the slot read off the
    /// route was a retain and a release per request; an `Unmanaged` is a plain value. Sound:
    /// `tokenSlot`, a `let`, holds it for as long as the route lives.
    let tokenSlotReference: Unmanaged<SnapshotSlot>?
    /// What every forward of this route shares (upstream, TLS, `Host`, removed headers, name,
    /// upgrades): referenced by each request's `ProxyForward`, not copied into it.
    let forwardTemplate: ProxyForwardTemplate

    /// Whether `target` falls under this route.
    func matches(_ target: ProxyRequestTarget) -> Bool {
        if let host {
            guard target.host == host else { return false }
            if let port, (target.port ?? target.defaultPort) != port { return false }
        }
        if let prefix = route.pathPrefix {
            return ProxyRequestTarget.path(target.path, isUnder: prefix)
        }
        return true
    }

    /// Compiles `route`; `tls` builds (or reuses) the context for an https upstream.
    /// `removeHeaders`: what every forward removes besides hop-by-hop fields.
    init(
        _ route: ProxyRoute, tokenSlot: SnapshotSlot? = nil, removeHeaders: [String] = [],
        reporter: (any ProxySuccessReporter)? = nil,
        tls makeTLS: (TLSClientConfiguration) throws -> (context: TLSClientContext, profile: String)
    ) throws {
        self.route = route
        self.tokenSlot = tokenSlot
        tokenSlotReference = tokenSlot.map { Unmanaged.passUnretained($0) }
        name = route.name
        strippedPrefix = route.stripPrefix ? route.pathPrefix : nil
        strippedPrefixCount = strippedPrefix?.utf8.count
        prefixBytes = route.pathPrefix.map { Array($0.utf8) }
        if let text = route.host,
            let (host, port) = try? ProxyRequestTarget.authority(Substring(text))
        {
            self.host = host
            self.port = port
        } else {
            host = nil
            port = nil
        }
        hostBytes = host.map { Array($0.utf8) }
        let components = URLComponents(url: route.upstream, resolvingAgainstBaseURL: false)
        let scheme = components?.scheme?.lowercased() ?? "https"
        var upstreamHost = components.flatMap(URLHost.decoded) ?? ""
        if upstreamHost.hasPrefix("[") {
            upstreamHost = String(upstreamHost.dropFirst().dropLast())
        }
        upstreamHost = upstreamHost.lowercased()
        let defaultPort = scheme == "https" ? 443 : 80
        let upstreamPort = components?.port ?? defaultPort
        let bracketed = upstreamHost.contains(":") ? "[\(upstreamHost)]" : upstreamHost
        hostHeader = upstreamPort == defaultPort ? bracketed : "\(bracketed):\(upstreamPort)"
        var path = components?.percentEncodedPath ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        var profile = ""
        if scheme == "https" {
            let built = try makeTLS(
                TLSClientConfiguration(
                    caFile: route.caFile, clientCertificateFile: route.clientCertificateFile,
                    clientKeyFile: route.clientKeyFile,
                    allowInsecureKeyPermissions: route.allowInsecureKeyPermissions))
            tls = built.context
            profile = built.profile
        } else {
            tls = nil
        }
        upstream = ProxyUpstream(
            scheme: scheme, host: upstreamHost, port: upstreamPort, tlsProfile: profile)
        forwardTemplate = ProxyForwardTemplate(
            upstream: upstream, tls: tls, hostHeader: hostHeader, removeHeaders: removeHeaders,
            forwardedHeaders: route.forwardedHeaders, routeName: name, upgrades: route.upgrades,
            reporter: reporter)
    }
}

extension ProxyRouter {
    /// Compiles every route, building one TLS context per distinct (CA file, client
    /// certificate, key). Every unusable file is reported, at the key of the first route that
    /// names it.
    static func compile(
        _ routes: [ProxyRoute], file: String,
        tokenSlot: (String) -> SnapshotSlot? = { _ in nil }, removeHeaders: [String] = [],
        reporter: (any ProxySuccessReporter)? = nil,
        makeTLS: (TLSClientConfiguration) throws -> TLSClientContext
    ) throws(ConfigurationError) -> [ProxyRouterRoute] {
        var contexts: [String: TLSClientContext] = [:]
        var failed: Set<String> = []
        var problems: [ConfigurationProblem] = []
        var compiled: [ProxyRouterRoute] = []
        for (index, route) in routes.enumerated() {
            let path = ConfigPath.root.appending("proxy").appending("routes").appending(
                index: index)
            do {
                compiled.append(
                    try ProxyRouterRoute(
                        route, tokenSlot: route.credential.flatMap(tokenSlot),
                        removeHeaders: removeHeaders, reporter: reporter
                    ) {
                        configuration in
                        let profile = tlsProfile(configuration)
                        if let known = contexts[profile] { return (known, profile) }
                        guard !failed.contains(profile) else { throw AlreadyReported() }
                        do {
                            let context = try makeTLS(configuration)
                            contexts[profile] = context
                            return (context, profile)
                        } catch {
                            failed.insert(profile)
                            throw error
                        }
                    })
            } catch is AlreadyReported {
                continue
            } catch {
                problems.append(
                    ConfigurationProblem(tlsPath(error, route: route, at: path), "\(error)"))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(file: file, problems: problems) }
        return compiled
    }

    /// Names a set of TLS settings, for `ProxyUpstream.tlsProfile`: empty for the defaults.
    static func tlsProfile(_ configuration: TLSClientConfiguration) -> String {
        let files = [
            configuration.caFile, configuration.clientCertificateFile, configuration.clientKeyFile,
        ]
        guard files.contains(where: { $0 != nil }) || !configuration.useSystemTrustStore else {
            return ""
        }
        let insecure = configuration.allowInsecureKeyPermissions ? " allow-insecure-key" : ""
        return "ca=\(files[0] ?? "-") cert=\(files[1] ?? "-") key=\(files[2] ?? "-")\(insecure)"
    }

    /// The key naming the file a TLS error is about.
    private static func tlsPath(_ error: any Error, route: ProxyRoute, at path: ConfigPath)
        -> ConfigPath
    {
        guard case TLSError.configuration(let file, _) = error else { return path }
        switch file {
        case route.caFile: return path.appending("ca_file")
        case route.clientCertificateFile: return path.appending("client_certificate")
        case route.clientKeyFile: return path.appending("client_key")
        default: return path
        }
    }

    private struct AlreadyReported: Error {}
}
