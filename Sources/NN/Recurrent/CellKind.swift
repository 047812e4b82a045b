/// The recurrence of a layer, with PyTorch's equations and gate order.
public enum CellKind: String, Sendable, Codable, CaseIterable {
    /// h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    case rnnTanh = "rnn_tanh"
    /// h' = relu(W_ih x + b_ih + W_hh h + b_hh)
    case rnnReLU = "rnn_relu"
    /// gates r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h
    case gru
    /// gates i, f, g, o; c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')
    case lstm

    /// Gate blocks stacked in W_ih / W_hh (1, 3 or 4).
    public var gates: Int {
        switch self {
        case .rnnTanh, .rnnReLU: return 1
        case .gru: return 3
        case .lstm: return 4
        }
    }
}

/// The parameters of one direction of one layer (PyTorch shapes):
/// wIh [G·H, F], wHh [G·H, H], bIh and bHh [G·H].
public struct DirectionWeights {
    public let wIh: Tensor, wHh: Tensor
    public let bIh: Tensor?, bHh: Tensor?
    public var all: [Tensor] { [wIh, wHh] + [bIh, bHh].compactMap { $0 } }
}

import Tensor
