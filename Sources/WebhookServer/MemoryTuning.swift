#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings that make the server's memory follow what it holds.
///
/// By default glibc raises its mmap threshold to the size of the largest block freed (up to 32 MiB), so
/// after one 7 MiB body every later body and parse tape comes from the heap, whose freed pages stay
/// resident and fragment: under a flood of large bodies RSS grew past the budget that bounds them. A
/// fixed threshold keeps every block of 128 KiB or more a fresh mapping, returned to the system when
/// freed and resident only where written; two arenas stop each thread from keeping its own heap.
public enum MemoryTuning {
    public static let mmapThreshold: Int32 = 128 << 10
    public static let arenas: Int32 = 2

    /// Applies the settings; call once, before serving. Returns whether glibc took them (false on other
    /// C libraries, where nothing is changed).
    @discardableResult
    public static func apply() -> Bool {
        #if os(Linux) && canImport(Glibc)
        // <malloc.h> is not part of the Glibc module: find `mallopt` at run time. Its parameter numbers
        // are glibc ABI: M_MMAP_THRESHOLD -3, M_ARENA_MAX -8.
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        return mallopt(-3, mmapThreshold) == 1 && mallopt(-8, arenas) == 1
        #else
        return false
        #endif
    }
}
