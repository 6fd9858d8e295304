import AdmissionCore
import NIOCore
import NIOHTTP1

/// A request part after `ReviewRouter`: the head carries the mode its path chose.
enum RoutedRequestPart {
    case head(RoutedHead)
    case body(ByteBuffer)
    case end
}

/// A request head that names a review path, with a POST of JSON.
struct RoutedHead {
    var head: HTTPRequestHead
    /// The mode the path forces, or nil for the server's `--mode`.
    var mode: EnforcementMode?
    /// The Content-Length, when the client sent one.
    var declaredLength: Int?
}

/// A whole review request after `ReviewBodyCollector`, with the budget it holds.
struct CollectedReview {
    var head: HTTPRequestHead
    var mode: EnforcementMode?
    var body: [UInt8]
    var started: ContinuousClock.Instant
    /// What the body holds of the byte budget; given back once the answer is written.
    var hold: BudgetHold
}

/// Bytes one request holds of the server's `ByteBudget`, in its class. Lives on the request's event loop;
/// `release` is idempotent, so every path that ends a request can call it.
final class BudgetHold {
    private let budget: ByteBudget
    private(set) var bytes = 0
    private(set) var large = false

    init(budget: ByteBudget) { self.budget = budget }

    /// Raises the hold to `target` bytes, moving it to the large class once `total` passes `smallLimit`.
    /// False, holding what it held, when the budget has no room.
    func raise(to target: Int, total: Int, smallLimit: Int) -> Bool {
        if !large, total > smallLimit {
            guard budget.promote(bytes) else { return false }
            large = true
        }
        guard target > bytes else { return true }
        guard budget.reserve(target - bytes, large: large) else { return false }
        bytes = target
        return true
    }

    /// The request's view of the budget for its parse tape, in the same class.
    var parseBudget: RequestBudget { RequestBudget(budget: budget, large: large) }

    func release() {
        budget.release(bytes, large: large)
        bytes = 0
        large = false
    }
}
