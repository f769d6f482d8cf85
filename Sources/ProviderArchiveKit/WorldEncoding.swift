/// What the bytes given as a WIT world are, told by their first eight bytes. `world.wasm`
/// holds a WIT package encoded as a WebAssembly component, as `wasm-tools component wit
/// --wasm` and wash (`wit_component::encode`) write it: `\0asm`, then version `0d 00` and
/// layer `01 00`. A core module (layer 0) has no WIT in it.
public enum WorldEncoding: Equatable, Sendable, CustomStringConvertible {
    /// A WebAssembly component: what `world.wasm` must be.
    case component
    /// A core WebAssembly module (`\0asm 01 00 00 00`), such as a WASI preview 1 program.
    case coreModule
    /// Anything else.
    case notWebAssembly

    /// The first eight bytes of every WebAssembly component.
    public static let componentPreamble: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x01, 0x00]

    /// Classifies `bytes` by their start.
    ///
    /// - Parameter bytes: The candidate world.
    public init(of bytes: some Collection<UInt8>) {
        let start = Array(bytes.prefix(8))
        if start == Self.componentPreamble {
            self = .component
        } else if start.count == 8, start[..<4].elementsEqual(Self.componentPreamble[..<4]), start[6] == 0, start[7] == 0 {
            self = .coreModule
        } else {
            self = .notWebAssembly
        }
    }

    public var description: String {
        switch self {
        case .component: "a WebAssembly component"
        case .coreModule: "a core WebAssembly module, not a component"
        case .notWebAssembly: "not WebAssembly"
        }
    }
}
