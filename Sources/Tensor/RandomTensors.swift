@_exported import Random

extension Tensor {
    /// Uniform values in [low, high).
    public static func uniform(_ shape: [Int], _ low: Float, _ high: Float, rng: inout RandomSource,
                               on backend: any Backend = CPUBackend.shared, requiresGrad: Bool = false) -> Tensor {
        let v = (0..<shape.reduce(1, *)).map { _ in rng.uniform(low, high) }
        return Tensor(v, shape: shape, on: backend, requiresGrad: requiresGrad)
    }
    /// Normal values with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout RandomSource,
                              on backend: any Backend = CPUBackend.shared, requiresGrad: Bool = false) -> Tensor {
        let v = (0..<shape.reduce(1, *)).map { _ in mean + std * rng.normal() }
        return Tensor(v, shape: shape, on: backend, requiresGrad: requiresGrad)
    }
}
