import Testing

import PARBytes

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
        #expect(throws: JSONError.self) { try JSONValue(parsing: Array(text.utf8)) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let fine = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        let parsed = try JSONValue(parsing: Array(fine.utf8))
        #expect(parsed.serialized == fine)
        #expect(parsed.depth == JSONValue.maximumDepth)
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONError.nestedTooDeeply(limit: 64)) { try JSONValue(parsing: Array(deep.utf8)) }
        // Measuring a value built in code does not recurse, however deep it is.
        var built = JSONValue.null
        for _ in 0..<3_000 { built = .array([built]) }
        #expect(built.depth == 3_000)
    }
}
