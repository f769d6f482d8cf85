import PARClaims

/// The most par reads of each input it holds whole, checked while reading (docs/inputs.md
/// lists every input and its bound). Archives and binaries are never held: they stream.
enum InputLimits {
    /// `-j/--schema`: a schema goes into claims.jwt, which readers accept up to 1 MiB.
    static let schema = ClaimsToken.maximumSize
    /// `--wit-world`: a WIT world encoded as a component is a few KiB.
    static let witWorld = 16 << 20
    /// `push -c/--config`: the config blob, `{}` by default.
    static let config = 1 << 20
    /// `run --host-data`, `--link-definitions`: what a host sends a provider.
    static let hostData = 16 << 20
}
