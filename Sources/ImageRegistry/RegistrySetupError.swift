/// The registry client cannot be set up (a bad CA file, an unreadable credentials file).
public struct RegistrySetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
