/// Bounds on the record directory and on the queue in front of it.
public struct RecorderLimits: Sendable {
    /// The most record files kept; the oldest are deleted first.
    public var maximumFiles: Int
    /// The most bytes kept across all record files; the oldest are deleted first.
    public var maximumBytes: Int
    /// Reviews waiting to be written; further reviews are dropped and counted.
    public var queueDepth: Int
    /// Bytes of bodies and responses waiting to be written; further reviews are dropped and
    /// counted. 256 queued 3 MiB reviews would otherwise be most of a webhook pod's memory if the
    /// disk stalls.
    public var queueBytes: Int

    /// `--record-max-files`.
    public static let defaultMaximumFiles = 1000
    /// `--record-max-bytes`: 256 MiB.
    public static let defaultMaximumBytes = 256 << 20

    public init(
        maximumFiles: Int = RecorderLimits.defaultMaximumFiles, maximumBytes: Int = RecorderLimits.defaultMaximumBytes,
        queueDepth: Int = 256, queueBytes: Int = 16 << 20
    ) {
        self.maximumFiles = maximumFiles
        self.maximumBytes = maximumBytes
        self.queueDepth = queueDepth
        self.queueBytes = queueBytes
    }
}
