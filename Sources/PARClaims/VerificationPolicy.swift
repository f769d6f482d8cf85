import Foundation
import PARNKeys

/// What a token (and an archive) must satisfy beyond a valid signature.
///
/// The default is secure: any issuer whose signature verifies, and claims that are neither
/// expired nor not yet valid now. Narrow the issuers for production hosts.
public struct VerificationPolicy: Sendable {
    /// The account keys allowed to sign; `nil` accepts any issuer whose signature verifies.
    public var trustedIssuers: Set<NKeyPublicKey>?
    /// Accept claims whose `exp` has passed or whose `nbf` has not come yet.
    public var allowsExpired: Bool
    /// The time to check `exp` and `nbf` against; `nil` for the clock at the time of the check.
    public var validationTime: Date?

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - trustedIssuers: The accepted issuers, or `nil` for any.
    ///   - allowsExpired: Whether `exp` and `nbf` are ignored.
    ///   - validationTime: The time to validate at, or `nil` for now.
    public init(trustedIssuers: Set<NKeyPublicKey>? = nil, allowsExpired: Bool = false, validationTime: Date? = nil) {
        self.trustedIssuers = trustedIssuers
        self.allowsExpired = allowsExpired
        self.validationTime = validationTime
    }

    /// Any issuer, expiry enforced, checked against the current time.
    public static let `default` = VerificationPolicy()

    /// The current time in whole seconds since 1970.
    static func unixTimeNow() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970))
    }

    /// The validation time in whole seconds since 1970.
    var unixValidationTime: UInt64 {
        guard let validationTime else { return Self.unixTimeNow() }
        return UInt64(max(0, validationTime.timeIntervalSince1970))
    }
}
