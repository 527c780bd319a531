import TokenProxyCore

/// What a sink file holds for a token, by format. Never logged.
enum SinkContents {
    /// The bytes of a sink file of `format` for `token`, which expires at `expiresAt` (Unix
    /// seconds); `variable` names the `env` format's variable.
    static func render(
        _ format: SinkConfiguration.Format, variable: String, token: IssuedToken,
        expiresAt: Int64, now: Int64
    ) -> Redacted<[UInt8]> {
        switch format {
        case .raw:
            return Redacted(token.plainBody.value)
        case .json:
            return Redacted(
                token.jsonBody(expiresIn: max(0, expiresAt - now), expiresAt: expiresAt) + [0x0A])
        case .env:
            return Redacted(Array("\(variable)=".utf8) + token.plainBody.value + [0x0A])
        case .header:
            return Redacted(Array("Authorization: \(token.authorization.value)\n".utf8))
        }
    }
}
