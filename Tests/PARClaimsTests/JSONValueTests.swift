import Testing

@testable import PARClaims

@Suite struct JSONValueTests {
    @Test func valuesKeepOrderAndNumberLiteralsExactly() throws {
        let text = #"{"z":1,"a":[true,false,null,-0.5e10,12345678901234567890123],"m":{"k":"v"},"e":{},"l":[]}"#
        let value = try JSONValue(parsing: Array(text.utf8))
        #expect(value.serialized == text)
        #expect(value["a"] == .array([.bool(true), .bool(false), .null, .number("-0.5e10"), .number("12345678901234567890123")]))
    }

    @Test func stringsAreEscapedAsSerdeJsonEscapesThem() throws {
        let value = JSONValue.string("q\"b\\s/n\nt\tr\rb\u{08}f\u{0C}c\u{01}\u{1F}é😀\u{7F}")
        #expect(value.serialized == #""q\"b\\s/n\nt\tr\rb\bf\fc\u0001\u001fé😀\#u{7F}""#)
        #expect(try JSONValue(parsing: Array(value.serialized.utf8)) == value)
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        #expect(try JSONValue(parsing: Array(#""\u00e9\ud83d\ude00\/""#.utf8)) == .string("é😀/"))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "01", "1.", "-", "1e", "+1", "tru", "nul",
        "\"\\x\"", "\"\u{01}\"", "\"\\ud800\"", "[1] x", "{'a':1}", "NaN", "\"abc",
    ])
    func invalidJSONIsRefused(text: String) {
        #expect(throws: ClaimsError.self) { try JSONValue(parsing: Array(text.utf8)) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: ClaimsError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let fine = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        let parsed = try JSONValue(parsing: Array(fine.utf8))
        #expect(parsed.serialized == fine)
        #expect(parsed.depth == JSONValue.maximumDepth)
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: ClaimsError.nestedTooDeeply(limit: 64)) { try JSONValue(parsing: Array(deep.utf8)) }
        // Measuring a value built in code does not recurse, however deep it is.
        var built = JSONValue.null
        for _ in 0..<3_000 { built = .array([built]) }
        #expect(built.depth == 3_000)
    }
}

@Suite struct ValueTypeTests {
    @Test func targetsAreArchOsNames() throws {
        for name in ["x86_64-linux", "aarch64-macos", "x86_64-windows", "riscv64-linux", "wasm32-wasi", "x86_64-unknown-linux"] {
            #expect(try Target(name).name == name)
        }
        for name in ["", "linux", "x86_64-", "-linux", "x86_64--linux", "X86_64-linux", "x86_64-linux.bin", "../x-y", "a b-c", "x86_64/linux"] {
            #expect(throws: ClaimsError.invalidTargetName(name)) { try Target(name) }
        }
        let target = try Target("x86_64-unknown-linux")
        #expect(target.architecture == "x86_64")
        #expect(target.operatingSystem == "unknown-linux")
        #expect(target.entryName == "x86_64-unknown-linux.bin")
    }

    @Test func theNativeTargetUsesRustNames() {
        #if arch(x86_64) && os(Linux)
        #expect(Target.native.name == "x86_64-linux")
        #elseif arch(arm64) && os(macOS)
        #expect(Target.native.name == "aarch64-macos")
        #elseif arch(arm64) && os(Linux)
        #expect(Target.native.name == "aarch64-linux")
        #endif
        #expect((try? Target(Target.native.name)) != nil)
    }

    @Test func hashesParseEitherCaseAndPrintUppercase() {
        let lower = String(repeating: "ab", count: 32)
        #expect(SHA256Hash(hex: lower)?.hex == lower.uppercased())
        #expect(SHA256Hash(hex: String(repeating: "A", count: 63)) == nil)
        #expect(SHA256Hash(hex: String(repeating: "G", count: 64)) == nil)
        #expect(SHA256Hash(bytes: [1, 2, 3]) == nil)
    }

    @Test func base64URLIsStrict() {
        #expect(Base64URL.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw")
        #expect(Base64URL.decode(Array("YW55IGNhcm5hbCBwbGVhcw".utf8)) == Array("any carnal pleas".utf8))
        #expect(Base64URL.decode(Array("YW55IGNhcm5hbCBwbGVhcw==".utf8)) == nil)
        #expect(Base64URL.decode(Array("YW55IGNhcm5hbCBwbGVhcx".utf8)) == nil)  // stray bits
        #expect(Base64URL.decode(Array("Y".utf8)) == nil)
        #expect(Base64URL.decode(Array("+/".utf8)) == nil)
        #expect(Base64URL.decode(Array("-w".utf8)) == [0xFB])
        #expect(Base64URL.decode(Array("-_".utf8)) == nil)  // stray bits
    }
}
