import PARClaims

/// Which target binaries a load keeps in memory.
public enum TargetSelection: Hashable, Sendable {
    /// Every target and world.wasm; every target named in the claims must be present.
    case all
    /// One target, which must be present; the others are hashed and checked, not kept.
    case only(Target)
    /// No binary: world.wasm alone is kept, when there is one. Every binary is still
    /// hashed and checked, and none is required (a platform slice loads too).
    case worldOnly
}
