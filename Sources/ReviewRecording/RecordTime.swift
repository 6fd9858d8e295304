#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock time with microseconds: file names sort by it.
struct RecordTime: Sendable, Equatable {
    var seconds: Int
    var microseconds: Int

    static func now() -> RecordTime {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RecordTime(seconds: Int(now.tv_sec), microseconds: Int(now.tv_nsec) / 1000)
    }

    /// `yyyyMMdd'T'HHmmss.SSSSSS` in UTC.
    var fileNameStamp: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let micros = String(microseconds)
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "."
            + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
    }
}
