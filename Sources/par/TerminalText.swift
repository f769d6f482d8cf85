/// Text made safe for a terminal: what came from an archive, a registry, a file name or an
/// argument may hold control characters that move the cursor, clear a line or hide text.
enum TerminalText {
    /// The text with every control character written out: C0 (`\n`, `\t`, `\x1b`, ...), DEL
    /// and C1 (`\u{9b}`, ...). The result is one line, and moves nothing.
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
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The text with anything shaped like an nkey seed (58 base32 characters starting `S`
    /// and a role letter) replaced, for messages that might echo a seed typed in the wrong place.
    static func withoutSeeds(_ text: String) -> String {
        var result = ""
        var run = ""
        func flush() {
            let bytes = Array(run.utf8)
            if bytes.count == 58, bytes[0] == UInt8(ascii: "S"), Array("ACMNOPUVX".utf8).contains(bytes[1]) {
                result += "S" + String(UnicodeScalar(bytes[1])) + "...(a seed, not shown)"
            } else {
                result += run
            }
            run = ""
        }
        for character in text {
            if character.isASCII, character.isUppercase || ("2"..."7").contains(character) {
                run.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
