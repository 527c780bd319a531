import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto

@testable import TokenProxy

/// What a reload does with a credential's token, and the order keys are tried in.
@Suite(.timeLimit(.minutes(1)))
struct CredentialReloadTests {
    static let first = try! PrivateKey.generate(.ec(.p256))
    static let second = try! PrivateKey.generate(.ec(.p256))

    static func credential(
        key: PrivateKey = first, keyID: String = "k1", issuer: String = "https://idp.example",
        scopes: [String] = ["openid"]
    ) -> Credential {
        Credential(
            name: "svc", keyOrigin: "/k.json",
            key: ServiceKey(
                source: .zitadelServiceAccount(userID: "c1"), keyID: keyID, clientID: "c1",
                privateKey: key),
            issuer: URL(string: issuer)!, grant: .jwtBearer, scopes: scopes)
    }

    @Test func classifiesWhatChanged() {
        let running = Self.credential()
        let policy = RefreshPolicy()
        func change(_ next: Credential, _ nextPolicy: RefreshPolicy = RefreshPolicy())
            -> Credential.ReloadChange
        {
            running.reloadChange(to: next, policy: policy, nextPolicy: nextPolicy)
        }
        #expect(change(Self.credential()) == .unchanged)
        #expect(change(Self.credential(scopes: ["openid", "profile"])) == .refetch)
        #expect(change(Self.credential(), RefreshPolicy(fraction: 0.8)) == .refetch)
        #expect(change(Self.credential(key: Self.second)) == .replace)
        #expect(change(Self.credential(keyID: "k2")) == .replace)
        #expect(change(Self.credential(issuer: "https://other.example")) == .replace)
        let withNext = Self.credential().withNextKey(
            ServiceKey(
                source: .zitadelServiceAccount(userID: "c1"), keyID: "k2", clientID: "c1",
                privateKey: Self.second), origin: "/next.json")
        #expect(change(withNext) == .refetch, "adding a rotation's new key keeps the token")
    }

    @Test func triesTheNewKeyFirst() {
        #expect(Self.credential().keysToTry.map(\.key.keyID) == ["k1"])
        let withNext = Self.credential().withNextKey(
            ServiceKey(
                source: .zitadelServiceAccount(userID: "c1"), keyID: "k2", clientID: "c1",
                privateKey: Self.second), origin: "/next.json")
        let order = withNext.keysToTry
        #expect(order.map(\.key.keyID) == ["k2", "k1"])
        #expect(order.map(\.keyOrigin) == ["/next.json", "/k.json"])
        #expect(order.allSatisfy { $0.nextKey == nil })
    }
}
