import Synchronization

/// Answers by key for `lifetime`, at most `capacity` of them and `maximumBytes` in all (as `size`
/// counts them), with one fetch in flight per key:
/// callers that ask while it runs wait for its answer. Only answers that stay true for a while are
/// kept (an object, or the API server's 404 / 403); timeouts and transport errors are not.
final class AnswerCache<Value: Sendable>: Sendable {
    typealias Answer = Result<Value, KubernetesAPIError>

    let lifetime: Duration
    let capacity: Int
    let maximumBytes: Int
    private let size: @Sendable (Value) -> Int
    private struct Entry {
        var answer: Answer
        var expires: ContinuousClock.Instant
        var bytes: Int
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var inFlight: [String: Task<Answer, Never>] = [:]
    }
    private let state = Mutex(State())
    private enum Found { case cached(Answer), running(Task<Answer, Never>) }

    init(lifetime: Duration, capacity: Int, maximumBytes: Int, size: @escaping @Sendable (Value) -> Int) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
        self.maximumBytes = maximumBytes
        self.size = size
    }

    var count: Int { state.withLock { $0.entries.count } }
    var bytes: Int { state.withLock { $0.bytes } }

    /// The answer for `key`: cached, shared with a fetch in flight, or from `fetch`.
    func answer(for key: String, fetch: @escaping @Sendable () async -> Answer) async -> Answer {
        let now = ContinuousClock.now
        let found = state.withLock { state -> Found in
            if let entry = state.entries[key] {
                if entry.expires > now { return .cached(entry.answer) }
                state.bytes -= entry.bytes
                state.entries[key] = nil
            }
            if let running = state.inFlight[key] { return .running(running) }
            // Unstructured so that a caller that goes away does not cancel the others' answer.
            let task = Task { await fetch() }
            state.inFlight[key] = task
            return .running(task)
        }
        let task: Task<Answer, Never>
        switch found {
        case .cached(let answer): return answer
        case .running(let running): task = running
        }
        let answer = await task.value
        state.withLock { state in
            guard state.inFlight[key] == task else { return }
            state.inFlight[key] = nil
            if AnswerCache.keeps(answer) { store(answer, for: key, in: &state) }
        }
        return answer
    }

    private static func keeps(_ answer: Answer) -> Bool {
        switch answer {
        case .success: true
        case .failure(let error): error.isDefinitive
        }
    }

    /// Stores, then, while over a limit, drops expired entries and then those closest to expiry (the
    /// oldest); over `capacity`, an eighth more at once so the sort is rare. Errors count 256 bytes.
    private func store(_ answer: Answer, for key: String, in state: inout State) {
        let bytes = (try? answer.get()).map(size) ?? 256
        guard bytes <= maximumBytes else { return }
        let now = ContinuousClock.now
        if let old = state.entries.updateValue(Entry(answer: answer, expires: now + lifetime, bytes: bytes), forKey: key) {
            state.bytes -= old.bytes
        }
        state.bytes += bytes
        guard state.entries.count > capacity || state.bytes > maximumBytes else { return }
        for (key, entry) in state.entries where entry.expires <= now {
            state.entries[key] = nil
            state.bytes -= entry.bytes
        }
        let keepCount = state.entries.count > capacity ? capacity - capacity / 8 : capacity
        for (key, entry) in state.entries.sorted(by: { $0.value.expires < $1.value.expires }) {
            guard state.entries.count > keepCount || state.bytes > maximumBytes else { break }
            state.entries[key] = nil
            state.bytes -= entry.bytes
        }
    }
}
