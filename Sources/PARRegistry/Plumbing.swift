import Foundation
import NIOConcurrencyHelpers

/// A thread-safe running total.
final class NIOLockedCounter: Sendable {
    private let value = NIOLockedValueBox<UInt64>(0)

    /// Adds and returns the new total.
    func add(_ count: UInt64) -> UInt64 {
        value.withLockedValue {
            $0 += count
            return $0
        }
    }
}

/// URLComponents for a registry Location, keeping what the registry encoded as it was.
struct URLComponentsBox {
    private var components: URLComponents

    init?(_ text: String) {
        guard let components = URLComponents(string: text) else { return nil }
        self.components = components
    }

    mutating func append(name: String, value: String) {
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: name, value: value)]
    }

    var string: String? { components.url?.absoluteString }
}
