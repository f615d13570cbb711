package memplan.ops;

/** Two operands combined element by element with NumPy broadcasting (MaskedFill's mask may be a buffer). */
public sealed interface BinaryOp extends Op permits Add, Mul, Sub, Div, Pow, MaskedFill, GatedActivation,
        Compare {
}
