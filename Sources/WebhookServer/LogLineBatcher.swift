import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes log lines to a descriptor from a thread of its own, many lines per `write(2)`.
///
/// A decision line per review used to cost a `write(2)` on the event loop. Here a line is copied into a
/// pending buffer under a lock and the caller goes on; the writer thread takes the whole buffer, writes it,
/// then pauses `interval` so that lines logged meanwhile go out together. Under load that is one write per
/// interval; an idle writer sleeps until the next line wakes it, so a lone line is out at once.
///
/// Bounded: past `maximumPendingBytes` a line is dropped and counted, and the next write says how many were
/// lost: the event loop never waits for a slow or blocked descriptor. `flush` waits until everything logged
/// before it is written; the server calls it before the process exits. What is lost on SIGKILL or a crash
/// is at most `interval` of lines.
final class LogLineBatcher: @unchecked Sendable {
    private let descriptor: Int32
    private let interval: Duration
    private let maximumPendingBytes: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let lineArrived = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let batchWritten = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var pending: [UInt8] = []
    private var spare: [UInt8] = []
    private var dropped = 0
    private var writerIdle = false
    private var appended = 0
    private var written = 0

    static let defaultInterval: Duration = .milliseconds(1)
    static let defaultMaximumPendingBytes = 4 << 20

    init(descriptor: Int32, interval: Duration = LogLineBatcher.defaultInterval, maximumPendingBytes: Int = LogLineBatcher.defaultMaximumPendingBytes) {
        self.descriptor = descriptor
        self.interval = interval
        self.maximumPendingBytes = maximumPendingBytes
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(lineArrived, nil)
        pthread_cond_init(batchWritten, nil)
        pending.reserveCapacity(64 << 10)
        spare.reserveCapacity(64 << 10)
        var thread = pthread_t()
        let unmanaged = Unmanaged.passRetained(self)
        let started = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<LogLineBatcher>.fromOpaque(argument).takeRetainedValue().run()
            return nil
        }, unmanaged.toOpaque())
        if started == 0 {
            pthread_detach(thread)
        } else {
            unmanaged.release()
        }
    }

    /// Queues `line` (which ends with its newline), or drops it when the queue is full.
    func append(_ line: [UInt8]) {
        pthread_mutex_lock(mutex)
        if pending.count + line.count > maximumPendingBytes {
            dropped += 1
        } else {
            pending.append(contentsOf: line)
            appended += 1
            if writerIdle { pthread_cond_signal(lineArrived) }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Waits until every line appended before the call is written, for at most `timeout`.
    /// True when they were.
    @discardableResult
    func flush(timeout: Duration = .seconds(2)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let target = appended
        while written < target {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            var until = timespec()
            clock_gettime(CLOCK_REALTIME, &until)
            let (seconds, attoseconds) = min(left, .milliseconds(100)).components
            let nanoseconds = Int(until.tv_nsec) + Int(attoseconds / 1_000_000_000)
            until.tv_sec += time_t(seconds) + time_t(nanoseconds / 1_000_000_000)
            until.tv_nsec = nanoseconds % 1_000_000_000
            pthread_cond_timedwait(batchWritten, mutex, &until)
        }
        return true
    }

    private func run() {
        var batch: [UInt8] = []
        while true {
            pthread_mutex_lock(mutex)
            while pending.isEmpty && dropped == 0 {
                writerIdle = true
                pthread_cond_wait(lineArrived, mutex)
                writerIdle = false
            }
            // Swap buffers: appenders fill the spare while this one is written.
            swap(&batch, &pending)
            swap(&pending, &spare)
            let lines = appended - written
            let lost = dropped
            dropped = 0
            pthread_mutex_unlock(mutex)

            if lost > 0 {
                // In the log's own format, as if logged: the lines it stands for were.
                let note = JSONLogHandler(label: "log-output", level: .warning, output: .custom { _ in }).line(for: LogEvent(
                    level: .warning, message: "log lines dropped: the log output could not keep up",
                    metadata: ["dropped": "\(lost)"], source: nil, file: #fileID, function: #function, line: #line))
                batch.append(contentsOf: note)
                batch.append(UInt8(ascii: "\n"))
            }
            Self.writeAll(batch, to: descriptor)
            batch.removeAll(keepingCapacity: batch.capacity <= 1 << 20)

            pthread_mutex_lock(mutex)
            written += lines
            swap(&batch, &spare)
            pthread_cond_broadcast(batchWritten)
            pthread_mutex_unlock(mutex)
            if interval > .zero {
                let (seconds, attoseconds) = interval.components
                var pause = timespec(tv_sec: time_t(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                nanosleep(&pause, nil)
            }
        }
    }

    /// Writes all of `bytes`, retrying partial and interrupted writes. A descriptor that refuses
    /// (closed, or non-blocking and full for a second) loses the batch rather than stalling the writer.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            var waits = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count >= 0 {
                    offset += count
                    continue
                }
                switch errno {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    // Someone made the descriptor non-blocking; wait for room, within reason.
                    guard waits < 10 else { return }
                    waits += 1
                    var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&poller, 1, 100)
                default:
                    return
                }
            }
        }
    }
}
