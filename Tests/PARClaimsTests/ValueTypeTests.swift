import Testing

@testable import PARClaims

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
