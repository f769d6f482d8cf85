import PARTestSupport
import Testing

/// Expects a one-line failure with exit code 1 whose message contains `words`.
func expectFailure(_ result: ParResult, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 1, "exit \(result.status): \(result.error)", sourceLocation: sourceLocation)
    let lines = result.error.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.error)", sourceLocation: sourceLocation)
    #expect(result.error.contains(words), "stderr: \(result.error)", sourceLocation: sourceLocation)
}

/// Expects a usage error: the argument parser's exit code 64, its message containing `words`.
func expectUsageError(_ result: ParResult, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 64, "exit \(result.status): \(result.error)", sourceLocation: sourceLocation)
    #expect(result.error.contains(words), "stderr: \(result.error)", sourceLocation: sourceLocation)
}
