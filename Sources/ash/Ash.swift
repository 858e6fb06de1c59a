import ArgumentParser

@main
struct Ash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ash",
        abstract: "The ASH context store's command-line client.",
        subcommands: [
            Ping.self, Create.self, Get.self, Consume.self, Delete.self, Stats.self, Cleanup.self, Migrate.self,
            Conformance.self,
        ]
    )
}
