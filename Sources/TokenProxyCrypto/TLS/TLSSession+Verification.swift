internal import COpenSSL

extension TLSSession {
    /// OpenSSL's text for a certificate verification result, with what an operator can do
    /// about it. The corresponding C function is `X509_verify_cert_error_string`.
    static func verificationReason(_ result: Int32, name: String) -> String {
        let text = String(cString: X509_verify_cert_error_string(Int(result)))
        let hint: String
        switch result {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            hint = "pass --ca-file / ca_file if the server uses a private CA"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            hint =
                "the certificate is not issued for '\(name)'; use a host name the certificate lists"
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            hint = "check the server's certificate dates and this machine's clock"
        default:
            hint = "check the server's certificate chain"
        }
        return "\(text) (X509 verify error \(result)); \(hint)"
    }
}
