/// Token ids in the shape of a NATS NUID: 22 characters of `0-9A-Za-z`.
enum TokenID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// A fresh id from the system's secure random generator; collisions need ~2^65 tokens.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<22).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
