/// The outcome of a store's atomic consume.
///
/// Among any number of concurrent consumers of one id, exactly one sees
/// ``consumed``.
public enum ConsumeResult: String, Sendable, Hashable, CaseIterable {
    /// This call consumed the context; it is the one winner.
    case consumed
    /// The context exists but was consumed before: a replay.
    case alreadyConsumed
    /// No such context, or it has expired.
    case missing
}
