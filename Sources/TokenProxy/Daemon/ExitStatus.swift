import TokenProxyCore

/// Process exit statuses, from sysexits.h so that scripts and systemd can tell failures apart
/// (`RestartPreventExitStatus=78` stops systemd from restarting on a configuration error).
package enum ExitStatus: Int32, Sendable {
    case success = 0
    /// `tokenproxy introspect`: the answer is "not active" (like grep's 1: it worked, and the
    /// answer is no).
    case inactive = 1
    /// Wrong command-line usage.
    case usage = 64
    /// Input data (a key file) is malformed.
    case dataError = 65
    /// An input file does not exist or cannot be read.
    case noInput = 66
    /// The IdP could not be reached or answered with a server error.
    case unavailable = 69
    /// An internal error of ours or of the system (sysexits `EX_OSERR`): no pipe, no signal
    /// handler.
    case osError = 71
    /// Temporary failure (timeouts): try again later.
    case temporaryFailure = 75
    /// The IdP refused the credential (`invalid_grant`, `invalid_client`, 401, 403).
    case permissionDenied = 77
    /// The configuration (or a key file's permissions) must be fixed; also when the IdP refused
    /// the request itself (400 `invalid_scope`, 404 token endpoint).
    case configuration = 78

    /// The status for a failed token exchange.
    package static func forFailure(_ error: OAuthError) -> ExitStatus {
        switch error.category {
        case .configuration, .requestRejected: return .configuration
        case .credentialRejected: return .permissionDenied
        case .unavailable: return .unavailable
        }
    }

    /// The status for a failed introspection.
    package static func forIntrospectionFailure(_ error: IntrospectionError) -> ExitStatus {
        switch error {
        case .badRequest: return .usage
        case .configuration: return .configuration
        case .rejected where !error.isTemporary: return .permissionDenied
        default: return .unavailable
        }
    }
}
