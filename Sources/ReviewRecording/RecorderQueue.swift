import Synchronization

/// One queued review, as received. Decoding waits for the writer.
struct PendingRecord: Sendable {
    var body: [UInt8]
    var responseJSON: [UInt8]
    var uid: String
    var receivedAt: RecordTime
    /// Given back when the record is gone: written, failed, or discarded with a cancelled queue.
    var charge: QueueCharge
}

/// The queue's bytes and the budget they are charged to. A class apart from the recorder, so
/// that queued records can give their bytes back without holding the recorder.
final class QueueAccount: Sendable {
    let budget: RecorderBudget?
    private let queued = Atomic<Int>(0)

    init(budget: RecorderBudget?) { self.budget = budget }

    /// Bytes of bodies and responses in the queue.
    var queuedBytes: Int { queued.load(ordering: .relaxed) }

    /// Takes `queued` bytes for a record if the queue stays within `limit`, and `budget` bytes
    /// from the budget if it agrees.
    func charge(queued bytes: Int, budget charged: Int, limit: Int) -> QueueCharge? {
        guard queued.add(bytes, ordering: .relaxed).newValue <= limit else {
            queued.subtract(bytes, ordering: .relaxed)
            return nil
        }
        if let budget, !budget.reserve(charged) {
            queued.subtract(bytes, ordering: .relaxed)
            return nil
        }
        return QueueCharge(queued: bytes, charged: budget == nil ? 0 : charged, account: self)
    }

    fileprivate func release(queued bytes: Int, charged: Int) {
        queued.subtract(bytes, ordering: .relaxed)
        if charged > 0 { budget?.release(charged) }
    }
}

/// What one queued record holds, given back when the record is released.
final class QueueCharge: Sendable {
    let queued: Int
    let charged: Int
    private let account: QueueAccount

    init(queued: Int, charged: Int, account: QueueAccount) {
        self.queued = queued
        self.charged = charged
        self.account = account
    }

    deinit { account.release(queued: queued, charged: charged) }
}
