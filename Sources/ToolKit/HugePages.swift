#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for large fresh buffers: the kernel then maps 2 MiB at
/// a fault instead of 4 KiB, so that filling a buffer of hundreds of MB (the ids
/// of a whole corpus) takes a few hundred page faults instead of tens of
/// thousands. Advice only: where huge pages are off, or on other systems,
/// nothing changes.
public enum HugePages {
    /// Buffers smaller than this are left alone.
    public static let threshold = 8 << 20

    /// Advises huge pages for the whole 2 MiB pages inside `bytes` of `base`, before
    /// they are first written.
    public static func advise(_ base: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard bytes >= threshold else { return }
        let page = 2 << 20
        let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: base) + bytes) & ~(page - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, MADV_HUGEPAGE)
        #endif
    }
}
