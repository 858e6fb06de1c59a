import ArgumentParser

@main
struct Ash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ash",
        abstract: "The ASH context store's command-line client.",
        subcommands: [Conformance.self]
    )
}
