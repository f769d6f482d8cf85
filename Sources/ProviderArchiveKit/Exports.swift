// The archive API is written in keys and claims (`NKeyPair`, `ProviderClaims`, `Target`,
// `VerificationPolicy`), so `import ProviderArchiveKit` brings those two layers. The
// plumbing below them (byte streams, files, JSON, SHA-256 in PARBytes; tar and gzip in
// PARContainer) is imported by name where it is used.
@_exported import PARClaims
@_exported import PARNKeys
