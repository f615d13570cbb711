package memplan.onnx;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How {@link OnnxImporter} turns an inference graph into a MemPlan model.
 *
 * @param batchSymbol       the ONNX dim_param that is the batch; null (the default) means "axis 0 of every data
 *                          input", whether the file leaves it symbolic or fixes it (exports with batch 1 are common).
 *                          The batch becomes MemPlan's symbol "N", set by --batch at profile time.
 * @param inputShapes       input name -> full shape (e.g. 1x3x640x640) giving values to the other symbolic dimensions;
 *                          the value at the batch axis is ignored (the batch comes from --batch).
 * @param loss              where training's loss comes from: see {@link Loss}.
 * @param opaqueUnsupported keep operators MemPlan does not model as {@link memplan.ops.Opaque} elementwise ops
 *                          instead of failing.
 * @param output            the graph output the loss attaches to; null means the first.
 */
public record OnnxOptions(String batchSymbol, Map<String, int[]> inputShapes, Loss loss,
        boolean opaqueUnsupported, String output) {
    /** auto: cross-entropy for a rank-2 [N, C] output, else mean squared error. */
    public enum Loss {
        AUTO, CE, MSE;

        public static Loss parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "ce", "cross-entropy", "crossentropy" -> CE;
                case "mse" -> MSE;
                default -> throw new IllegalArgumentException("unknown loss '" + s + "' (use auto, ce or mse)");
            };
        }
    }

    public OnnxOptions {
        inputShapes = Map.copyOf(new LinkedHashMap<>(inputShapes));
        if (loss == null) loss = Loss.AUTO;
    }

    public static OnnxOptions defaults() {
        return new OnnxOptions(null, Map.of(), Loss.AUTO, false, null);
    }

    public OnnxOptions withBatchSymbol(String s) { return new OnnxOptions(s, inputShapes, loss,
            opaqueUnsupported, output); }
    public OnnxOptions withLoss(Loss l) { return new OnnxOptions(batchSymbol, inputShapes, l,
            opaqueUnsupported, output); }
    public OnnxOptions withOpaqueUnsupported(boolean b) { return new OnnxOptions(batchSymbol,
            inputShapes, loss, b, output); }
    public OnnxOptions withOutput(String o) { return new OnnxOptions(batchSymbol, inputShapes,
            loss, opaqueUnsupported, o); }

    public OnnxOptions withInputShape(String name, int... shape) {
        Map<String, int[]> m = new LinkedHashMap<>(inputShapes);
        m.put(name, shape.clone());
        return new OnnxOptions(batchSymbol, m, loss, opaqueUnsupported, output);
    }

    /** Parses "NAME=1x3x640x640" (as given to --input-shape). */
    public static Map.Entry<String, int[]> parseInputShape(String spec) {
        int eq = spec.lastIndexOf('=');
        if (eq <= 0 || eq == spec.length() - 1)
            throw new IllegalArgumentException("expected NAME=AxBxC (e.g. images=1x3x640x640), got '" + spec + "'");
        String[] parts = spec.substring(eq + 1).split("[xX,]");
        int[] dims = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                dims[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + parts[i] + "' in '" + spec
                        + "' is not a dimension (expected NAME=AxBxC)");
            }
            if (dims[i] <= 0) throw new IllegalArgumentException("dimensions must be positive in '" + spec + "'");
        }
        return Map.entry(spec.substring(0, eq), dims);
    }
}
