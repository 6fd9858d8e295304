import Synchronization

/// Answers by key for `lifetime`, at most `capacity` of them, with one fetch in flight per key:
/// callers that ask while it runs wait for its answer. Only answers that stay true for a while are
/// kept (an object, or the API server's 404 / 403); timeouts and transport errors are not.
final class AnswerCache<Value: Sendable>: Sendable {
    typealias Answer = Result<Value, KubernetesAPIError>

    let lifetime: Duration
    let capacity: Int
    private struct Entry {
        var answer: Answer
        var expires: ContinuousClock.Instant
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var inFlight: [String: Task<Answer, Never>] = [:]
    }
    private let state = Mutex(State())
    private enum Found { case cached(Answer), running(Task<Answer, Never>) }

    init(lifetime: Duration, capacity: Int) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// The answer for `key`: cached, shared with a fetch in flight, or from `fetch`.
    func answer(for key: String, fetch: @escaping @Sendable () async -> Answer) async -> Answer {
        let now = ContinuousClock.now
        let found = state.withLock { state -> Found in
            if let entry = state.entries[key] {
                if entry.expires > now { return .cached(entry.answer) }
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

    /// Stores, then drops expired entries and, if still full, the eighth closest to expiry (the oldest).
    private func store(_ answer: Answer, for key: String, in state: inout State) {
        let now = ContinuousClock.now
        state.entries[key] = Entry(answer: answer, expires: now + lifetime)
        guard state.entries.count > capacity else { return }
        state.entries = state.entries.filter { $0.value.expires > now }
        guard state.entries.count > capacity else { return }
        let drop = state.entries.count - capacity + capacity / 8
        for (key, _) in state.entries.sorted(by: { $0.value.expires < $1.value.expires }).prefix(drop) {
            state.entries[key] = nil
        }
    }
}
