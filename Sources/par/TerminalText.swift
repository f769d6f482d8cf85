/// Text made safe for a terminal: what came from an archive, a registry, a file name or an
/// argument may hold characters that move the cursor, clear a line, hide text or reorder it.
enum TerminalText {
    /// The text with every character that can move, hide or reorder text written out: C0
    /// (`\n`, `\t`, `\x1b`, ...), DEL and C1 (`\u{9b}`, ...), and Unicode's format and
    /// separator characters (bidi embeddings, overrides and isolates such as U+202E, zero-width
    /// characters, U+FEFF, U+2028, U+2029). The result is one line, shown as written.
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case 0x09: result += "\\t"
            case 0x00..<0x20, 0x7F: result += "\\x" + hex(scalar.value)
            case 0x80...0x9F: result += "\\u{" + hex(scalar.value) + "}"
            default:
                switch scalar.properties.generalCategory {
                case .format, .lineSeparator, .paragraphSeparator: result += "\\u{" + hex(scalar.value) + "}"
                default: result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// The text with anything that holds an nkey seed (`S`, a role letter and 56 more base32
    /// characters) hidden, wherever it sits: alone, or inside a longer word such as a path or
    /// a reference. A message may echo a seed typed in the wrong place; it never shows it.
    static func withoutSeeds(_ text: String) -> String {
        var result = ""
        var run: [UInt8] = []
        func flush() {
            if let start = seedStart(in: run) {
                result += String(decoding: run[..<start], as: UTF8.self)
                result += "S" + String(UnicodeScalar(run[start + 1])) + "...(a seed, not shown)"
            } else {
                result += String(decoding: run, as: UTF8.self)
            }
            run = []
        }
        for character in text {
            if character.isASCII, character.isUppercase || ("2"..."7").contains(character) {
                run += character.utf8
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    /// Where a seed starts in a run of base32 characters, if one fits in it.
    private static func seedStart(in run: [UInt8]) -> Int? {
        guard run.count >= 58 else { return nil }
        let roles = Array("ACMNOPUVX".utf8)
        return (0...(run.count - 58)).first { run[$0] == UInt8(ascii: "S") && roles.contains(run[$0 + 1]) }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
