/// Σ a[j]·b[j] for j < n, eight lanes at a time (the order of the sum differs from a
/// plain loop's, which lets the compiler use vector registers; results are still
/// deterministic for a given n).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var j = 0
    while j + 8 <= n {
        let va = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<Float>.self)
        let vb = UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<Float>.self)
        acc += va * vb
        j += 8
    }
    var s = acc.sum()
    while j < n { s += a[j] * b[j]; j += 1 }
    return s
}
