import Synchronization

/// A counting semaphore shared by every lookup: fetches in flight, or bytes of registry responses
/// held (bodies and their parse tapes). Units are granted first come, first served; a request that
/// does not fit waits until its deadline and is then refused, so the queue is bounded in time, and
/// in length by `maximumWaiters`.
final class RegistryGate: Sendable {
    let capacity: Int
    let maximumWaiters: Int
    private let state = Mutex(State())
    private let onChange: @Sendable (Int) -> Void

    private struct State {
        var used = 0
        var queue: [Waiter] = []
        /// Waiters granted before their continuation was stored.
        var granted: Set<Int> = []
        /// Waiters cancelled before their continuation was stored.
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private struct Waiter {
        var id: Int
        var amount: Int
        var continuation: CheckedContinuation<Bool, Never>?
    }

    /// `onChange` receives the units in use after each change (for a gauge).
    init(capacity: Int, maximumWaiters: Int = 4096, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.capacity = capacity
        self.maximumWaiters = maximumWaiters
        self.onChange = onChange
    }

    /// Units in use now.
    var used: Int { state.withLock { $0.used } }

    /// Requests waiting now.
    var waiting: Int { state.withLock { $0.queue.count } }

    /// Takes `amount` units, waiting until `deadline` at most. False when they were not granted in time,
    /// when `amount` is more than the whole capacity, or when too many are waiting already.
    func acquire(_ amount: Int, deadline: ContinuousClock.Instant) async -> Bool {
        guard amount > 0 else { return true }
        enum Start {
            case granted(Int), refused, wait(Int)
        }
        let start: Start = state.withLock { state in
            guard amount <= capacity else { return .refused }
            if state.queue.isEmpty, state.used + amount <= capacity {
                state.used += amount
                return .granted(state.used)
            }
            guard state.queue.count < maximumWaiters, ContinuousClock.now < deadline else { return .refused }
            let id = state.nextID
            state.nextID += 1
            state.queue.append(Waiter(id: id, amount: amount))
            return .wait(id)
        }
        switch start {
        case .granted(let used):
            onChange(used)
            return true
        case .refused:
            return false
        case .wait(let id):
            return await withTaskGroup(of: Bool?.self) { group in
                group.addTask { await self.waitForGrant(id) }
                group.addTask {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    return nil
                }
                // The waiter's own answer decides: after the timer fires it is cancelled, and answers
                // true only if it was granted in the meantime (then the units are ours).
                var granted = false
                while let next = await group.next() {
                    if let next { granted = next }
                    group.cancelAll()
                }
                return granted
            }
        }
    }

    /// Gives back `amount` units and grants waiters that now fit, in order.
    func release(_ amount: Int) {
        guard amount > 0 else { return }
        let (resumed, used) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], Int) in
            state.used -= amount
            return (grantWaiters(&state), state.used)
        }
        onChange(used)
        for continuation in resumed { continuation.resume(returning: true) }
    }

    private func grantWaiters(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        var resumed: [CheckedContinuation<Bool, Never>] = []
        while let first = state.queue.first, state.used + first.amount <= capacity {
            state.queue.removeFirst()
            state.used += first.amount
            if let continuation = first.continuation {
                resumed.append(continuation)
            } else {
                state.granted.insert(first.id)
            }
        }
        return resumed
    }

    private func waitForGrant(_ id: Int) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = state.withLock { state in
                    if state.granted.remove(id) != nil { return true }
                    if state.cancelled.remove(id) != nil { return false }
                    if let index = state.queue.firstIndex(where: { $0.id == id }) {
                        state.queue[index].continuation = continuation
                        return nil
                    }
                    return false
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let (waiter, resumed, used) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, [CheckedContinuation<Bool, Never>], Int) in
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return (nil, [], state.used) }
                let removed = state.queue.remove(at: index)
                if removed.continuation == nil { state.cancelled.insert(id) }
                // The head leaving may let the next ones in.
                return (removed.continuation, grantWaiters(&state), state.used)
            }
            waiter?.resume(returning: false)
            if !resumed.isEmpty {
                onChange(used)
                for continuation in resumed { continuation.resume(returning: true) }
            }
        }
    }
}

/// Units taken from a gate, given back once: by `release()`, or when the charge is dropped.
final class GateCharge: Sendable {
    private let gate: RegistryGate?
    private let amount: Mutex<Int>

    init(_ gate: RegistryGate?, amount: Int) {
        self.gate = gate
        self.amount = Mutex(gate == nil ? 0 : amount)
    }

    /// Nothing charged (HEAD answers, tests).
    static let none = GateCharge(nil, amount: 0)

    var bytes: Int { amount.withLock { $0 } }

    /// Keeps only `kept` of the units (a body shorter than reserved).
    func shrink(to kept: Int) {
        let freed = amount.withLock { amount -> Int in
            let freed = max(amount - max(kept, 0), 0)
            amount -= freed
            return freed
        }
        gate?.release(freed)
    }

    func release() { shrink(to: 0) }

    deinit { release() }
}

/// What one fetch (and its children, through the task-local) is waiting for, so a caller whose
/// deadline comes first can say which limit held it up rather than only "timed out".
final class FetchProgress: Sendable {
    @TaskLocal static var current: FetchProgress?

    private let waiting = Mutex<[RegistryLimit: Int]>([:])

    func enter(_ limit: RegistryLimit) { waiting.withLock { $0[limit, default: 0] += 1 } }

    func leave(_ limit: RegistryLimit) { waiting.withLock { $0[limit, default: 1] -= 1 } }

    /// A limit some part of the fetch is queued behind now.
    var blockedBy: RegistryLimit? {
        waiting.withLock { table in table.first { $0.value > 0 }?.key }
    }
}
