import ArgumentParser

/// `par`: create, inspect, verify and extract wasmCloud provider archives.
@main
struct Par: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "par",
        abstract: "Create, inspect, verify and extract wasmCloud provider archives (PAR).",
        discussion: """
            Flags and key files follow `wash par`: keys live in $WASH_KEYS or ~/.wash/keys as \
            NAME_ROLE.nk. Every command verifies signatures and hashes before trusting an archive.
            Exit codes: 0 success, 1 failure (one line on stderr), 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [
            CreateCommand.self, InsertCommand.self, InspectCommand.self, VerifyCommand.self,
            ExtractCommand.self, KeysCommand.self, PushCommand.self, PullCommand.self,
        ]
    )
}
