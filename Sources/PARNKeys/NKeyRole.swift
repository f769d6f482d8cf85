/// The role of an nkey, encoded in the prefix byte of its text form (PAR-FORMAT section 4).
///
/// The raw value is the prefix byte itself (`role << 3`), so the first character of a public
/// key names its role: `A` for an account, `V` for a service, and so on.
public enum NKeyRole: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// An account key (`A...`): signs provider claims as their issuer.
    case account = 0
    /// A cluster key (`C...`).
    case cluster = 16
    /// A module key (`M...`): the identity of a WebAssembly component.
    case module = 96
    /// A server key (`N...`).
    case server = 104
    /// An operator key (`O...`).
    case `operator` = 112
    /// A user key (`U...`).
    case user = 160
    /// A service key (`V...`): the identity of a capability provider, the subject of its claims.
    case service = 168
    /// A curve key (`X...`), used for key exchange by NATS.
    case curve = 184

    /// The letter a public key of this role starts with.
    public var letter: Character {
        switch self {
        case .account: "A"
        case .cluster: "C"
        case .module: "M"
        case .server: "N"
        case .operator: "O"
        case .user: "U"
        case .service: "V"
        case .curve: "X"
        }
    }

    /// The lowercase name of the role, as used in key file names (`alice_account.nk`).
    public var name: String {
        switch self {
        case .account: "account"
        case .cluster: "cluster"
        case .module: "module"
        case .server: "server"
        case .operator: "operator"
        case .user: "user"
        case .service: "service"
        case .curve: "curve"
        }
    }

    /// Finds a role by its lowercase name (`"account"`, `"service"`, ...).
    ///
    /// - Parameter name: A role name as ``name`` spells it.
    /// - Returns: The role, or `nil` when no role has that name.
    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = role
    }

    public var description: String { name }

    /// The prefix byte that marks a seed, before the role's own bits (`18 << 3`, `S`).
    static let seedPrefix: UInt8 = 18 << 3
}

extension NKeyRole {
    /// The name with its indefinite article, for messages: "an account", "a service".
    var withArticle: String {
        switch self {
        case .account, .operator: "an \(name)"
        default: "a \(name)"
        }
    }
}
