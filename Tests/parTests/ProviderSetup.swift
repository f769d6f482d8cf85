import PARNKeys
import PARTestSupport

/// What most CLI suites start from: a scratch folder with a provider binary, and an account
/// and a service key to sign with.
struct ProviderSetup {
    let work: Workspace
    let account = NKeyPair.generate(role: .account)
    let service = NKeyPair.generate(role: .service)

    /// A workspace holding `provider`, `binarySize` bytes.
    init(binarySize: Int) throws {
        work = try Workspace()
        try work.write(pattern(binarySize), to: "provider")
    }
}

/// A suite built on a ``ProviderSetup``, whose parts it names directly.
protocol ProviderSetupSuite {
    var setup: ProviderSetup { get }
}

extension ProviderSetupSuite {
    var work: Workspace { setup.work }
    var account: NKeyPair { setup.account }
    var service: NKeyPair { setup.service }
}
