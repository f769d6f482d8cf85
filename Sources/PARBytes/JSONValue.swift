/// A JSON value kept exactly as written: object keys in their order, numbers as their literal
/// text, so a `config_schema` survives a load and a re-sign unchanged.
public enum JSONValue: Hashable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as its JSON literal (`42`, `-1.5e3`): no precision is lost.
    case number(String)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, as its members in order. Keys are unique.
    case object([(key: String, value: JSONValue)])

    /// The member named `key`, when this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let literal): hasher.combine(literal)
        case .string(let value): hasher.combine(value)
        case .array(let values): hasher.combine(values)
        case .object(let members):
            for member in members {
                hasher.combine(member.key)
                hasher.combine(member.value)
            }
        }
    }
}

extension JSONValue {
    /// How deeply arrays and objects may nest: deeper JSON is refused when read, and claims
    /// that would nest deeper are refused before they are signed.
    public static let maximumDepth = 64

    /// How deeply this value nests arrays and objects: 0 for a scalar, 1 for `[]` or `{}`.
    /// Computed without recursion, so any value built in code can be measured.
    public var depth: Int {
        var deepest = 0
        var pending: [(value: JSONValue, level: Int)] = [(self, 0)]
        while let (value, level) = pending.popLast() {
            switch value {
            case .array(let values):
                deepest = max(deepest, level + 1)
                pending += values.map { ($0, level + 1) }
            case .object(let members):
                deepest = max(deepest, level + 1)
                pending += members.map { ($0.value, level + 1) }
            default:
                deepest = max(deepest, level)
            }
        }
        return deepest
    }

    /// Parses JSON text strictly (RFC 8259): one value, no trailing content, no duplicate keys,
    /// nesting at most ``maximumDepth`` deep.
    ///
    /// - Parameter bytes: UTF-8 JSON text.
    /// - Throws: ``JSONError`` saying what is wrong and where.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONError) {
        var parser = JSONParser(Array(bytes))
        self = try parser.parseDocument()
    }

    /// The compact serialization, escaped the way serde_json writes strings, so tokens we sign
    /// read the same as the Rust tools'.
    public var serialized: String {
        var output = ""
        write(to: &output)
        return output
    }

    func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let literal): output += literal
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                Self.writeString(member.key, to: &output)
                output += ":"
                member.value.write(to: &output)
            }
            output += "}"
        }
    }

    /// serde_json's escaping: `"` and `\`, short escapes for \b \f \n \r \t, `\u00XX` (lowercase
    /// hex) for other control characters, everything else (including non-ASCII) as is.
    static func writeString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = Array("0123456789abcdef")
                output += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 15)])
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
