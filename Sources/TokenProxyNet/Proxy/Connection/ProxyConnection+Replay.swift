import TokenProxyCore

/// The one replay after a 401 (RFC 9110 §15.5.2): the delegate gave a fresh token, so the
/// 401's body is dropped and the request goes again (on the same connection when it allows).
extension ProxyConnection {
    /// The delegate's answer to a 401: replay with `fresh`, or relay the 401.
    func after401(_ fresh: String?) {
        guard let exchange, let upstream = exchange.upstream, let head = exchange.response else {
            return
        }
        upstream.reading = true
        upstream.updateInterest()
        upstreamDeadline = deadline(in: context.timeouts.response)
        if let fresh, HTTPFields.isValidValue(fresh) {
            exchange.retried = true
            // `sendRequest` writes the head anew, with this value.
            exchange.forward.authorization = fresh
            exchange.phase = .discarding401
            exchange.discarded = 0
        } else {
            relayHead(head, upstream: upstream)
        }
        pumpUpstream(upstream)
    }

    /// The 401's body was dropped: send the request again with the fresh token, on the same
    /// connection when it allows.
    func resendAfter401(_ upstream: UpstreamConnection) {
        guard let exchange else { return }
        let keep =
            exchange.requestComplete && exchange.responseKeepsAlive
            && upstream.parserIsIdle
        if keep {
            upstream.exchanges += 1
            upstream.receivedResponseBytes = false
            sendRequest()
        } else {
            upstream.close()
            self.exchange?.upstream = nil
            openUpstream(preferPool: true)
        }
    }
}
