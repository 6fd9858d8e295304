/// The writer's state: the index of files on disk, the name sequence and log throttling.
struct WriterState: Sendable {
    static let logInterval = Duration.seconds(10)

    var index: RecordIndex
    var sequence = 0
    var lastFailureLog: ContinuousClock.Instant?
    var suppressedFailures = 0
    var reportedDrops = 0
    var lastDropLog: ContinuousClock.Instant?

    /// `<time>-<6-digit sequence>-<uid>.json`; never a name already in the index, so a clock that
    /// steps back cannot overwrite a record.
    mutating func nextName(receivedAt: RecordTime, uid: String) -> String {
        let stamp = receivedAt.fileNameStamp
        let safeUID = ReviewRecord.sanitizedUID(uid)
        while true {
            sequence = (sequence + 1) % 1_000_000
            let digits = String(sequence)
            let name = stamp + "-" + String(repeating: "0", count: 6 - digits.count) + digits + "-" + safeUID + ".json"
            if !index.contains(name) { return name }
        }
    }
}
