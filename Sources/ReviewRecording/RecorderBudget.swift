/// A byte budget the recorder charges for what it holds, such as the server's
/// `--max-buffered-bytes`. Each queued record is charged from `record` until it is written or
/// dropped: its body and response, and the memory the writer's parse of them may take
/// (`ReviewRecord.encodingBytes`), so the charge covers the record whenever it is written.
public struct RecorderBudget: Sendable {
    /// Takes bytes, or returns false when that would pass the budget's limit.
    public var reserve: @Sendable (Int) -> Bool
    /// Gives back bytes taken by `reserve`.
    public var release: @Sendable (Int) -> Void

    public init(reserve: @escaping @Sendable (Int) -> Bool, release: @escaping @Sendable (Int) -> Void) {
        self.reserve = reserve
        self.release = release
    }
}
