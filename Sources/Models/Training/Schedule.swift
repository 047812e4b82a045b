import Foundation

/// How the learning rate moves over a run: constant, or a half cosine from the
/// base rate down to zero at the end of the last epoch (PyTorch's
/// `CosineAnnealingLR` with `T_max` = epochs × batches and `eta_min` = 0, stepped
/// after every batch).
///
/// The rate is a function of the step and the planned epochs alone, so a run
/// stopped (a signal, --max-steps) and resumed goes on exactly.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    case constant, cosine

    /// The rate of the update at step `step` (0-based) of `total`.
    public func rate(base: Float, step: Int, total: Int) -> Float {
        switch self {
        case .constant: return base
        case .cosine:
            let progress = total > 0 ? min(1, Double(step) / Double(total)) : 1
            return Float(Double(base) * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
