// The archive API speaks in the lower layers' types (keys, claims, targets, byte streams),
// so one `import ProviderArchiveKit` brings them all.
@_exported import PARClaims
@_exported import PARContainer
@_exported import PARNKeys
