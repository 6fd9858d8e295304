import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A single background thread for reviews too large to decide on an event loop.
///
/// Its niceness is raised (Linux applies `setpriority` to one thread), so when both cores are busy the
/// scheduler runs the event loops first: ordinary reviews keep their latency while a worst-case one is
/// decided. Work is bounded upstream: every queued review holds bytes of the request budget.
final class HeavyWork: Sendable {
    private let pool: NIOThreadPool

    /// Niceness of the thread: 10 is what `nice` applies by default.
    static let niceness: Int32 = 10

    init() {
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Runs `work` on the background thread; the future completes on `eventLoop`.
    func run<T: Sendable>(on eventLoop: any EventLoop, _ work: @escaping @Sendable () -> T) -> EventLoopFuture<T> {
        pool.runIfActive(eventLoop: eventLoop) {
            HeavyWork.lowerPriority()
            return work()
        }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    private static func lowerPriority() {
        #if os(Linux)
        // `who` 0 is the calling thread on Linux (niceness is per thread there); idempotent, and cheap
        // next to a review worth sending here.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }
}
