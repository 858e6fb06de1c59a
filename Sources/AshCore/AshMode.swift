/// The security mode a context was issued with.
///
/// The mode is part of the proof pre-image, so a client cannot downgrade it:
/// the server always recomputes the proof from the mode it stored.
public enum AshMode: String, Sendable, Hashable, CaseIterable, Codable {
    case minimal
    case balanced
    case strict

    /// The mode `createContext` uses when none is given.
    public static let `default`: AshMode = .balanced
}
