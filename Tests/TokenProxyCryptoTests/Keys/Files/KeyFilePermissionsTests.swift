import Foundation
import Testing
import TokenProxyPosix

@testable import TokenProxyCrypto

/// The key-permission rule: ssh's on hosts, plus a root-owned key that only a group of this
/// process may read (a Kubernetes Secret volume with `fsGroup`).
@Suite(.timeLimit(.minutes(1)))
struct KeyFilePermissionsTests {
    /// A pod's process: uid 10001, primary group 10001, `fsGroup` 2000 as a supplementary one.
    static let pod = KeyFilePermissions(userID: 10001, groupIDs: [10001, 2000])
    static let path = "/etc/tokenproxy/keys/sa.json"

    static func file(_ mode: UInt32, owner: UInt32 = 0, group: UInt32) -> FileStatus {
        FileStatus(mode: 0o100000 | mode, owner: owner, group: group)
    }

    static func message(_ mode: UInt32, _ refusal: KeyFilePermissions.Refusal) -> String {
        CryptoError.keyFileInsecurePermissions(path: path, mode: 0o100000 | mode, refusal: refusal)
            .description
    }

    @Test func acceptsARootOwnedKeyOnlyItsOwnGroupMayRead() {
        #expect(Self.pod.refusal(for: Self.file(0o440, group: 2000)) == nil)
        #expect(Self.pod.refusal(for: Self.file(0o640, group: 10001)) == nil)
        #expect(Self.pod.refusal(for: Self.file(0o400, group: 0)) == nil)
        #expect(Self.pod.refusal(for: Self.file(0o600, owner: 10001, group: 10001)) == nil)
    }

    @Test func refusesAGroupTheProcessIsNotIn() {
        #expect(Self.pod.refusal(for: Self.file(0o440, group: 3000)) == .foreignGroup(3000))
        #expect(
            Self.message(0o440, .foreignGroup(3000))
                == "key file /etc/tokenproxy/keys/sa.json may be read by group or others (mode"
                + " 0440): its group 3000 is not one of tokenproxy's groups; run: chmod 600"
                + " /etc/tokenproxy/keys/sa.json, or give it a group of tokenproxy's own"
                + " (Kubernetes: the pod's fsGroup); to accept it anyway set"
                + " allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)")
    }

    @Test func refusesAKeyOthersMayRead() {
        #expect(Self.pod.refusal(for: Self.file(0o444, group: 2000)) == .others)
        #expect(Self.pod.refusal(for: Self.file(0o404, group: 0)) == .others)
        #expect(
            Self.message(0o444, .others)
                == "key file /etc/tokenproxy/keys/sa.json may be read by group or others (mode"
                + " 0444): others may read it; run: chmod 600 /etc/tokenproxy/keys/sa.json; on a"
                + " Kubernetes Secret volume use"
                + " defaultMode: 0440 with the pod's fsGroup; to accept it anyway set"
                + " allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)")
    }

    /// A host's service user owns its key and can `chmod 600` it: ssh's rule stays.
    @Test func keepsTheSSHRuleForAKeyThisUserOwns() {
        #expect(
            Self.pod.refusal(for: Self.file(0o640, owner: 10001, group: 10001))
                == .ownedByThisUser)
        #expect(
            Self.message(0o640, .ownedByThisUser)
                == "key file /etc/tokenproxy/keys/sa.json may be read by group or others (mode"
                + " 0640): it belongs to tokenproxy's own user, who can restrict it; run: chmod 600"
                + " /etc/tokenproxy/keys/sa.json; to accept it anyway set"
                + " allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)")
    }

    @Test func refusesGroupWriteAndTheRootGroup() {
        #expect(Self.pod.refusal(for: Self.file(0o460, group: 2000)) == .groupMayWrite)
        #expect(Self.pod.refusal(for: Self.file(0o450, group: 2000)) == .groupMayWrite)
        let root = KeyFilePermissions(userID: 10001, groupIDs: [0, 10001])
        #expect(root.refusal(for: Self.file(0o440, group: 0)) == .rootGroup)
        #expect(
            Self.message(0o440, .rootGroup)
                == "key file /etc/tokenproxy/keys/sa.json may be read by group or others (mode"
                + " 0440): its group is 0 (root), which is never accepted for keys; run: chmod 600"
                + " /etc/tokenproxy/keys/sa.json, or give it a group of tokenproxy's own"
                + " (Kubernetes: the pod's fsGroup); to accept it anyway set"
                + " allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)")
        #expect(
            Self.message(0o660, .groupMayWrite)
                == "key file /etc/tokenproxy/keys/sa.json may be read by group or others (mode"
                + " 0660): its group may write or execute it; run: chmod 600"
                + " /etc/tokenproxy/keys/sa.json (or 440 when root"
                + " owns it and a group of tokenproxy's must read it); to accept it anyway set"
                + " allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)")
    }

    /// The loader applies the rule to the real file's owner and group (chown needs root; the
    /// integration test `test_key_permissions.py` runs the binary as uid 10001 with the group).
    @Test(.enabled(if: getuid() == 0))
    func theLoaderChecksTheRealFilesGroup() throws {
        let dir = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(dir) }
        let path = try TestSupport.writeFile(dir, "key.pem", TestKeys.ed25519PKCS8, mode: 0o440)
        #expect(chown(path, 4242, 4343) == 0)
        let error = try #require(
            TestSupport.error {
                try KeyFileLoader.load(path: path, options: KeyLoadOptions(clientID: "c"))
            })
        #expect(
            error.description
                == CryptoError.keyFileInsecurePermissions(
                    path: path, mode: 0o100440, refusal: .foreignGroup(4343)
                ).description)
        let allowed = try KeyFileLoader.load(
            path: path, options: KeyLoadOptions(clientID: "c", allowInsecurePermissions: true))
        #expect(allowed.clientID == "c")
    }
}
