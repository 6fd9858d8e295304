/// The outcome of a container check.
public enum ContainerVerdict: Sendable, Equatable {
    case allowed
    case denied(Finding)
    case unresolved(UnresolvedImage)
}
