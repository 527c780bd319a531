extension CryptoError {
    /// The message for a refused key file: what was refused, the fix, and the setting that
    /// accepts it anyway. `chmod 600` comes first: it is right on every host.
    static func permissionMessage(
        path: String, mode: UInt32, refusal: KeyFilePermissions.Refusal
    ) -> String {
        let octal = String(mode & 0o777, radix: 8)
        let shown = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        let what: String
        let alternative: String
        switch refusal {
        case .others:
            what = "is readable by others (mode \(shown))"
            alternative =
                "; on a Kubernetes Secret volume use defaultMode: 0440 with the pod's fsGroup"
        case .groupMayWrite:
            what = "may be written or executed by its group (mode \(shown))"
            alternative = " (or 440 when root owns it and a group of tokenproxy's must read it)"
        case .ownedByThisUser:
            what =
                "is readable by its group (mode \(shown)) and owned by tokenproxy's own user,"
                + " who can restrict it"
            alternative = ""
        case .rootGroup:
            what = "is readable by group 0 (root), which is never accepted for keys (mode \(shown))"
            alternative = ", or give it a group of tokenproxy's own (Kubernetes: the pod's fsGroup)"
        case .foreignGroup(let group):
            what =
                "is readable by group \(group), which is not one of tokenproxy's groups"
                + " (mode \(shown))"
            alternative = ", or give it a group of tokenproxy's own (Kubernetes: the pod's fsGroup)"
        }
        return "key file \(path) \(what); run: chmod 600 \(path)\(alternative);"
            + " to accept it anyway set allow_insecure_key_permissions: true"
            + " (CLI: --allow-insecure-key-permissions)"
    }
}
