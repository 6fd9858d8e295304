public import Logging
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes each reviewed AdmissionReview, with the response sent, as one JSON file that
/// `nonroot-admission replay` reads back.
///
/// `record` only enqueues; parsing, encoding and file I/O happen in `run`, whose blocking system
/// calls go to NIO's thread pool so they never stall the cooperative pool. Only an allowlist of
/// the request reaches disk (see `ReviewRecord`). The queue is bounded in records and bytes, and
/// may charge a shared `RecorderBudget`. The directory is bounded by file count and bytes, oldest file first out, across restarts.
/// One process should own a record directory: the index lives in memory.
public final class ReviewRecorder: Sendable {
    private let directory: String
    private let limits: RecorderLimits
    private let logger: Logger
    private let stream: AsyncStream<PendingRecord>
    private let continuation: AsyncStream<PendingRecord>.Continuation
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    /// Bytes of bodies and responses in the queue, and the shared budget they are charged to.
    private let account: QueueAccount
    /// Touched only by the single writer in `run`; the mutex makes that provable to the compiler.
    private let writer: Mutex<WriterState>

    /// Opens `directory`, creating it (0o700) if missing, and indexes the `*.json` files already
    /// there (oldest first by name) so that the limits hold across restarts. Stale `.tmp-` files
    /// from an interrupted write are deleted.
    /// `budget`, when given, is charged for queued records and for the writer's parse.
    public init(directory: String, limits: RecorderLimits = .init(), budget: RecorderBudget? = nil, logger: Logger) throws(RecorderError) {
        let positive = [
            ("maximumFiles", limits.maximumFiles), ("maximumBytes", limits.maximumBytes),
            ("queueDepth", limits.queueDepth), ("queueBytes", limits.queueBytes),
        ]
        for (name, value) in positive where value < 1 {
            throw RecorderError(kind: .invalidLimits, path: directory, reason: "\(name) must be at least 1, got \(value)")
        }
        // Trailing slashes would double up in the paths we build and in log lines.
        var directory = directory
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        try RecordFiles.createDirectory(directory)
        let index = try RecordFiles.index(directory, logger: logger)

        self.directory = directory
        self.limits = limits
        self.logger = logger
        self.account = QueueAccount(budget: budget)
        // Keep the oldest: a full queue means the writer is behind, and what it already holds is
        // as good as what arrives; dropping new records also keeps `record` O(1).
        (stream, continuation) = AsyncStream.makeStream(of: PendingRecord.self, bufferingPolicy: .bufferingOldest(limits.queueDepth))
        writer = Mutex(WriterState(index: index))
        if index.entries.count > limits.maximumFiles || index.totalBytes > limits.maximumBytes {
            // Limits lowered since the last run: trim now rather than on the first write.
            writer.withLock { evict(&$0) }
        }
    }

    /// Queues one review and the response that was sent (the AdmissionResponse object, as
    /// `Decision.responseJSON`; a whole response AdmissionReview is accepted too). Never blocks:
    /// when the queue is full (`queueDepth` records or `queueBytes` bytes of bodies and responses),
    /// when the budget refuses the bytes, or after `finish()`, the record is dropped and counted.
    public func record(body: [UInt8], responseJSON: [UInt8], uid: String) {
        let queued = body.count + responseJSON.count
        let charged = ReviewRecord.encodingBytes(body: body, response: responseJSON)
        guard let charge = account.charge(queued: queued, budget: charged, limit: limits.queueBytes) else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        let pending = PendingRecord(body: body, responseJSON: responseJSON, uid: uid, receivedAt: RecordTime.now(), charge: charge)
        switch continuation.yield(pending) {
        case .enqueued:
            break
        default:
            // Queue full, or finished; the charge goes back with `pending`.
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// The writer loop: writes queued records until `finish()` is called, then writes what is left
    /// and returns. Call it once. Cancelling the calling task stops it without draining the queue.
    public func run() async {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else {
            logger.warning("review recorder: run() called more than once; ignoring the extra call", metadata: ["path": "\(directory)"])
            return
        }
        for await pending in stream {
            do {
                try await NIOThreadPool.singleton.runIfActive { self.process(pending) }
            } catch {
                // Cancelled or the pool is gone (shutdown): write inline rather than lose the record.
                process(pending)
            }
        }
        reportDrops(force: true)
    }

    /// Makes `run()` return once the queue is drained. Records arriving later are dropped.
    public func finish() {
        continuation.finish()
    }

    /// Records dropped because the queue was full (in records or bytes), the budget refused them,
    /// or the recorder had finished.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Record files written.
    public var writtenCount: Int { written.load(ordering: .relaxed) }

    /// Records that could not be encoded or written (each is logged).
    var failedCount: Int { failed.load(ordering: .relaxed) }

    /// Bytes of bodies and responses in the queue.
    var queuedBytes: Int { account.queuedBytes }

    // MARK: - Writer

    /// Encodes, writes and evicts for one record. Runs on a thread that may block.
    private func process(_ pending: PendingRecord) {
        defer { reportDrops(force: false) }
        let contents: [UInt8]
        do {
            contents = try ReviewRecord.encode(body: pending.body, responseJSON: pending.responseJSON)
        } catch {
            failed.add(1, ordering: .relaxed)
            logger.error("review recorder: cannot record review: \(error)", metadata: ["uid": "\(pending.uid)"])
            return
        }
        guard contents.count <= limits.maximumBytes else {
            failed.add(1, ordering: .relaxed)
            logger.warning("review recorder: review is larger than the record directory's byte limit; not recorded", metadata: [
                "uid": "\(pending.uid)", "bytes": "\(contents.count)", "maximumBytes": "\(limits.maximumBytes)",
            ])
            return
        }
        writer.withLock { state in
            let name = state.nextName(receivedAt: pending.receivedAt, uid: pending.uid)
            do throws(WriteFailure) {
                try RecordFiles.write(contents, directory: directory, name: name)
            } catch {
                failed.add(1, ordering: .relaxed)
                logWriteFailure(error, state: &state)
                return
            }
            written.add(1, ordering: .relaxed)
            state.index.insert(RecordIndex.Entry(name: name, size: contents.count))
            evict(&state)
        }
    }

    /// Deletes the oldest files until both limits hold.
    private func evict(_ state: inout WriterState) {
        for entry in state.index.removeOldest(maximumFiles: limits.maximumFiles, maximumBytes: limits.maximumBytes) {
            let path = directory + "/" + entry.name
            // Gone already (deleted by hand) is what we wanted anyway.
            if unlink(path) != 0, errno != ENOENT {
                logger.error("review recorder: cannot delete old record", metadata: ["path": "\(path)", "reason": "\(RecordFiles.reason(errno))"])
            }
        }
    }

    /// A full disk fails every write; one error line per interval says so without flooding the log.
    private func logWriteFailure(_ failure: WriteFailure, state: inout WriterState) {
        let now = ContinuousClock.now
        if let last = state.lastFailureLog, now - last < WriterState.logInterval {
            state.suppressedFailures += 1
            return
        }
        var metadata: Logger.Metadata = ["path": "\(failure.path)", "reason": "\(failure.reason)"]
        if state.suppressedFailures > 0 { metadata["suppressedFailures"] = "\(state.suppressedFailures)" }
        logger.error("review recorder: cannot write record", metadata: metadata)
        state.lastFailureLog = now
        state.suppressedFailures = 0
    }

    /// `record` must not log (it is on the request path), so the writer reports new drops.
    private func reportDrops(force: Bool) {
        let total = dropped.load(ordering: .relaxed)
        writer.withLock { state in
            guard total > state.reportedDrops else { return }
            let now = ContinuousClock.now
            if !force, let last = state.lastDropLog, now - last < WriterState.logInterval { return }
            logger.warning("review recorder: queue full or over the byte budget; reviews not recorded", metadata: [
                "dropped": "\(total - state.reportedDrops)", "droppedTotal": "\(total)",
                "queueDepth": "\(limits.queueDepth)", "queueBytes": "\(limits.queueBytes)",
            ])
            state.reportedDrops = total
            state.lastDropLog = now
        }
    }
}
