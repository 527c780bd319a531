extension Metrics {
    /// `tokenproxy_key_rejected{credential}`: 1 while the IdP refuses a credential's new key
    /// (`next_key`) and the previous key is used instead.
    static func keyRejections(names: [String], rejected: (String) -> Bool) -> String {
        var out = PrometheusWriter()
        out.family(
            "tokenproxy_key_rejected", "gauge",
            help:
                "Whether the IdP rejected the credential's new key (next_key) on the last fetch; the previous key is used (the key may have been deleted or expired in the IdP)."
        )
        for name in names {
            out.sample("tokenproxy_key_rejected", ["credential": name], rejected(name) ? 1 : 0)
        }
        return out.text
    }
}
