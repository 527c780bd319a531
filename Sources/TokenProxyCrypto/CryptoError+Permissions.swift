extension CryptoError {
    /// The message for a refused key file: what was refused, the fix, and the setting that
    /// accepts it anyway. `chmod 600` comes first: it is right on every host.
    static func permissionMessage(
        path: String, mode: UInt32, refusal: KeyFilePermissions.Refusal
    ) -> String {
        let octal = String(mode & 0o777, radix: 8)
        let shown = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        let why: String
        let alternative: String
        switch refusal {
        case .others:
            why = "others may read it"
            alternative =
                "; on a Kubernetes Secret volume use defaultMode: 0440 with the pod's fsGroup"
        case .groupMayWrite:
            why = "its group may write or execute it"
            alternative = " (or 440 when root owns it and a group of tokenproxy's must read it)"
        case .ownedByThisUser:
            why = "it belongs to tokenproxy's own user, who can restrict it"
            alternative = ""
        case .rootGroup:
            why = "its group is 0 (root), which is never accepted for keys"
            alternative = ", or give it a group of tokenproxy's own (Kubernetes: the pod's fsGroup)"
        case .foreignGroup(let group):
            why = "its group \(group) is not one of tokenproxy's groups"
            alternative = ", or give it a group of tokenproxy's own (Kubernetes: the pod's fsGroup)"
        }
        return "key file \(path) may be read by group or others (mode \(shown)): \(why);"
            + " run: chmod 600 \(path)\(alternative);"
            + " to accept it anyway set allow_insecure_key_permissions: true"
            + " (CLI: --allow-insecure-key-permissions)"
    }
}
