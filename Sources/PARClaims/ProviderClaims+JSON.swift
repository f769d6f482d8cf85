import PARBytes
import PARNKeys

extension ProviderClaims {
    /// The claims as JSON, keys in the reference's (serde struct) order.
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let expires { members.append(("exp", .number(String(expires)))) }
        members.append(("jti", .string(id)))
        members.append(("iat", .number(String(issuedAt))))
        members.append(("iss", .string(issuer.encoded)))
        members.append(("sub", .string(subject.encoded)))
        if let notBefore { members.append(("nbf", .number(String(notBefore)))) }
        members.append(("wascap", metadata.json))
        if let wascapRevision { members.append(("wascap_revision", .number(String(wascapRevision)))) }
        return .object(members)
    }

    /// Reads claims from JSON, type-checking every known field. Unknown fields are ignored,
    /// as serde ignores them.
    init(json: JSONValue) throws(ClaimsError) {
        guard case .object = json else { throw .invalidJSON("the claims segment is not a JSON object") }
        let reader = FieldReader(object: json)
        let issuerText = try reader.requiredString("iss")
        let subjectText = try reader.requiredString("sub")
        let issuer: NKeyPublicKey
        let subject: NKeyPublicKey
        do {
            issuer = try NKeyPublicKey(issuerText, role: .account)
        } catch {
            throw .invalidKey(claim: "iss", error)
        }
        do {
            subject = try NKeyPublicKey(subjectText, role: .service)
        } catch {
            throw .invalidKey(claim: "sub", error)
        }
        guard let wascap = json["wascap"], wascap != .null else { throw .missingClaim("wascap") }
        self.init(
            issuer: issuer,
            subject: subject,
            metadata: try ProviderMetadata(json: wascap),
            issuedAt: try reader.required("iat", as: UInt64.self),
            expires: try reader.optional("exp", as: UInt64.self),
            notBefore: try reader.optional("nbf", as: UInt64.self),
            id: try reader.requiredString("jti")
        )
        self.wascapRevision = try reader.optional("wascap_revision", as: UInt32.self)
    }
}

extension ProviderMetadata {
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        members.append(("name", name.map(JSONValue.string) ?? .null))
        members.append(("vendor", .string(vendor)))
        if let revision { members.append(("rev", .number(String(revision)))) }
        if let version { members.append(("ver", .string(version))) }
        var hashes = targetHashes.map { (key: $0.key.name, value: JSONValue.string($0.value.hex)) }
        if let worldHash { hashes.append((Self.worldHashKey, .string(worldHash.hex))) }
        hashes.sort { $0.key < $1.key }
        members.append(("target_hashes", .object(hashes)))
        if let configSchema { members.append(("config_schema", configSchema)) }
        return .object(members)
    }

    init(json: JSONValue) throws(ClaimsError) {
        guard case .object = json else { throw .invalidClaim(name: "wascap", reason: "not a JSON object") }
        let reader = FieldReader(object: json, prefix: "wascap.")
        var targetHashes: [Target: SHA256Hash] = [:]
        var worldHash: SHA256Hash?
        switch json["target_hashes"] {
        case nil, .null?:
            break
        case .object(let members)?:
            for (key, value) in members {
                guard case .string(let text) = value, let digest = SHA256Hash(hex: text) else {
                    throw .invalidClaim(name: "wascap.target_hashes.\(key)", reason: "not 64 hex characters of a SHA-256")
                }
                if key == Self.worldHashKey {
                    worldHash = digest
                } else {
                    targetHashes[try Target(key)] = digest
                }
            }
        default:
            throw .invalidClaim(name: "wascap.target_hashes", reason: "not a JSON object")
        }
        let schema = json["config_schema"]
        self.init(
            name: try reader.optionalString("name"),
            vendor: try reader.requiredString("vendor"),
            revision: try reader.optional("rev", as: Int32.self),
            version: try reader.optionalString("ver"),
            targetHashes: targetHashes,
            worldHash: worldHash,
            configSchema: schema == .null ? nil : schema
        )
    }
}

/// Reads typed fields out of a JSON object, with errors that name the field.
private struct FieldReader {
    let object: JSONValue
    var prefix = ""

    func requiredString(_ key: String) throws(ClaimsError) -> String {
        guard let value = try optionalString(key) else { throw .missingClaim(prefix + key) }
        return value
    }

    func optionalString(_ key: String) throws(ClaimsError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidClaim(name: prefix + key, reason: "not a string")
        }
    }

    func required<Integer: FixedWidthInteger>(_ key: String, as type: Integer.Type) throws(ClaimsError) -> Integer {
        guard let value = try optional(key, as: type) else { throw .missingClaim(prefix + key) }
        return value
    }

    func optional<Integer: FixedWidthInteger>(_ key: String, as type: Integer.Type) throws(ClaimsError) -> Integer? {
        switch object[key] {
        case nil, .null?: return nil
        case .number(let literal)?:
            guard let value = Integer(literal, radix: 10), !literal.hasPrefix("+") else {
                throw .invalidClaim(name: prefix + key, reason: "\(literal) is not an integer in the range of \(Integer.self)")
            }
            return value
        default:
            throw .invalidClaim(name: prefix + key, reason: "not a number")
        }
    }
}
