package memplan.onnx;

import java.util.List;

/**
 * Maps the ONNX operators of one kind (elementwise, GEMM and convolution, pooling, ...) to MemPlan ops. Each mapper
 * lists the op types it handles with the input counts they accept, so that {@link Converter} checks a node's arity
 * before the mapper reads it; the mapper then reads inputs and attributes through {@link OnnxNode}, which checks
 * each one.
 */
interface OpMapper {
    /** The ONNX op types this mapper converts. */
    List<Signature> handles();

    /** Converts one node of a handled type whose input count has been checked against its signature. */
    void convert(OnnxNode n);

    /**
     * An ONNX op type with the inputs it takes in any opset (trailing optional inputs may be left out) and the
     * outputs it must have.
     */
    record Signature(String opType, int minInputs, int maxInputs, int minOutputs) {
        static Signature of(String opType, int minInputs, int maxInputs) {
            return new Signature(opType, minInputs, maxInputs, 1);
        }

        /** Any number of inputs from min on (Concat). */
        static Signature variadic(String opType, int minInputs) {
            return new Signature(opType, minInputs, Integer.MAX_VALUE, 1);
        }

        String expected() {
            if (maxInputs == Integer.MAX_VALUE) return "at least " + minInputs + " input" + (minInputs == 1 ? "" : "s");
            if (minInputs == maxInputs) return minInputs + " input" + (minInputs == 1 ? "" : "s");
            return minInputs + " to " + maxInputs + " inputs";
        }
    }
}
