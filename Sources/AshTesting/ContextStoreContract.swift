import AshCore
import AshStore

/// The behaviour every ``ContextStore`` must show, as checks a test target
/// runs against its own store:
///
/// ```swift
/// @Test(arguments: ContextStoreContract.Check.allCases)
/// func contract(_ check: ContextStoreContract.Check) async throws {
///     try await ContextStoreContract.run(check) { try await makeSubject() }
/// }
/// ```
///
/// Each check gets a fresh subject from the factory, so counts are exact.
public enum ContextStoreContract {
    public enum Check: String, Sendable, CaseIterable, CustomStringConvertible {
        case roundTripsEveryField
        case getOfUnknownIdIsNil
        case putNeverOverwrites
        case rejectsInvalidFields
        case consumesOnce
        case reportsReplayAsAlreadyConsumed
        case consumeOfUnknownIdIsMissing
        case neverConsumesExpiredContext
        case consumedContextStaysReadable
        case deletes
        case removeExpiredKeepsTheGrace
        case createFillsEveryField
        case createsInBatches
        case consumesInBatches
        case verifyChecksInTheProtocolsOrder
        case verifyAnswersExpiredWithinTheGrace
        case concurrentConsumersHaveOneWinner
        case concurrentVerifiersHaveOneWinner
        case idsAreUniqueOverManyCreations

        public var description: String { rawValue }
    }

    /// Settings for the heavier checks.
    public struct Options: Sendable {
        /// Contexts in ``Check/concurrentConsumersHaveOneWinner``.
        public var racedContexts = 200
        /// Concurrent consumers of each raced context.
        public var consumersPerContext = 16
        /// Creations in ``Check/idsAreUniqueOverManyCreations``.
        public var uniqueIdCreations = 100_000
        /// Concurrent creators in that check.
        public var creators = 8

        public init() {}
    }

    /// Runs one check against a fresh subject, then tears it down.
    public static func run<Store: ContextStore>(
        _ check: Check,
        options: Options = Options(),
        makeSubject: () async throws -> ContractSubject<Store>
    ) async throws {
        let subject = try await makeSubject()
        do {
            try await ContractChecks(check: check, subject: subject, options: options).run()
        } catch {
            try? await subject.tearDown()
            throw error
        }
        try await subject.tearDown()
    }
}
