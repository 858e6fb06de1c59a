/// The outcome of a store's atomic consume.
///
/// Among any number of concurrent consumers of one id, exactly one sees
/// ``consumed``. The raw values are the names the CLI prints and the
/// documentation uses.
public enum ConsumeResult: String, Sendable, Hashable, CaseIterable {
    /// This call consumed the context; it is the one winner.
    case consumed
    /// The context exists, has not expired, and was consumed before: a replay.
    case alreadyConsumed
    /// The context exists but expired at or before the consume's `now`
    /// (consumed or not). Stores recognise an expired context for a grace
    /// period after it expires; after that it is ``missing``.
    case expired
    /// No such context (never issued, deleted, or reclaimed after expiry).
    case missing
}
