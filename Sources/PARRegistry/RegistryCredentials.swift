import Foundation

/// What proves who you are to a registry: a user name and password (or access token), or
/// an identity token from `docker login` (an OAuth refresh token). Their text never appears
/// in a description, error or log.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The user name; empty with an identity token.
    public let user: String
    /// The password or access token.
    public let password: String
    /// An identity token, exchanged at the registry's token endpoint for an access token.
    public let identityToken: String?

    /// Credentials for basic auth, and for a token endpoint.
    ///
    /// - Parameters:
    ///   - user: The user name.
    ///   - password: The password or access token.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
        self.identityToken = nil
    }

    /// An identity token, as `docker login` stores for registries that issue them.
    ///
    /// - Parameter identityToken: The token.
    public init(identityToken: String) {
        self.user = ""
        self.password = ""
        self.identityToken = identityToken
    }

    /// The user's name, and that a secret is held: never the secret.
    public var description: String {
        identityToken != nil ? "an identity token" : "user \(user) (password hidden)"
    }

    var basicAuthorization: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}
