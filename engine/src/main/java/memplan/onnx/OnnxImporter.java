package memplan.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import memplan.graph.Graph;
import memplan.graph.GraphException;
import memplan.io.ModelFormatException;
import memplan.ir.DType;
import memplan.ir.Remedy;
import memplan.ir.Shape;
import memplan.ir.ShapeException;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.proto.Onnx.GraphProto;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.onnx.proto.Onnx.OperatorSetIdProto;
import memplan.onnx.proto.Onnx.TensorProto.DataType;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.onnx.proto.Onnx.TensorShapeProto;
import memplan.onnx.proto.Onnx.ValueInfoProto;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.MseLoss;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads an ONNX model (an inference graph) into a MemPlan {@link ModelDef} ready for training analysis: data inputs
 * become Input layers (batch axis "N"), operators become MemPlan ops with their weights as parameters, shape
 * computations are folded away, and a loss is attached to the output. See docs/onnx.md.
 *
 * <p>Every problem with the file is a {@link ModelFormatException} naming the file, where (node, input or
 * initializer) and why.
 */
public final class OnnxImporter {
    /**
     * Opsets whose operator versions the importer knows (attribute-versus-input changes are handled per opset);
     * older and newer ones are read on a best-effort basis.
     */
    public static final int MIN_OPSET = 11, MAX_OPSET = 21;

    private OnnxImporter() {
    }

    public static ModelDef read(Path file, OnnxOptions options) {
        String source = file.toString();
        ModelProto model = parse(file);
        try {
            return convert(model, file, options);
        } catch (OnnxError e) {
            throw ModelFormatException.withRemedy(source, e.where, inWords(e.getMessage()), e.remedy, e.detail);
        } catch (GraphException e) {
            throw new ModelFormatException(source, null, "the converted model does not check: " + e.getMessage(), null);
        } catch (ModelFormatException e) {
            throw e;
        } catch (ShapeException | IllegalArgumentException | ArithmeticException e) {
            throw new ModelFormatException(source, null, "cannot convert: " + words(e), null);
        } catch (RuntimeException | StackOverflowError e) {
            // A bug of the importer rather than of the file; still one line, with the kind of failure for a report.
            ModelFormatException m = new ModelFormatException(source, null,
                    "cannot convert: the importer failed on this"
                    + " file (" + e.getClass().getSimpleName() + "); please report it with the file", null);
            m.initCause(e); // for a report; the message is what the user sees
            throw m;
        }
    }

    private static final Pattern INDEX =
            Pattern.compile("(?:Index|index) (-?\\d+) out of bounds for length (\\d+)");

    /**
     * The converter wraps some Java exceptions of an operator's mapping with the node's name; their text is Java's,
     * so it is said again in words here (the mappings themselves are being split up and will say it directly).
     */
    static String inWords(String reason) {
        if (reason == null || reason.isBlank() || reason.equals("null"))
            return "invalid inputs or attributes for this operator";
        var m = INDEX.matcher(reason);
        if (m.find()) return "refers to position " + m.group(1) + " of " + m.group(2)
                + " (an input, output, axis or attribute value that does not exist)";
        if (reason.contains("/ by zero")) return "a division by zero (a zero stride, size, step or group count)";
        if (reason.startsWith("For input string")) return "a value that is not a number";
        return reason;
    }

    private static String words(RuntimeException e) {
        if (e instanceof ArithmeticException) return "a size or count in the model overflows";
        return e.getMessage() == null ? "invalid values in the model" : e.getMessage();
    }

    static ModelProto parse(Path file) {
        String source = file.toString();
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(source, null, "file not found", null);
        } catch (IOException e) {
            throw new ModelFormatException(source, null, "cannot read: " + e.getMessage(), null);
        }
        if (size == 0) throw new ModelFormatException(source, null, "the file is empty, not an ONNX model", null);
        ModelProto m;
        // Memory-mapped and aliased: weight bytes are not copied onto the heap.
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (size > Integer.MAX_VALUE) throw new ModelFormatException(source, null,
                    "larger than 2 GB: ONNX keeps such weights in external data files", null);
            var buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            CodedInputStream in = CodedInputStream.newInstance(buf);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            in.setRecursionLimit(200);
            m = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException(source, null, "not a valid ONNX (protobuf) file: " + e.getMessage()
                    + " (is it truncated, or another format?)", null);
        } catch (IOException e) {
            throw new ModelFormatException(source, null, "cannot read: " + e.getMessage(), null);
        }
        if (!m.hasGraph() || m.getGraph().getNodeCount() == 0 && m.getGraph().getOutputCount() == 0)
            throw new ModelFormatException(source, null,
                    "not an ONNX model: no graph found (is it another format?)", null);
        if (m.getIrVersion() <= 0 || m.getIrVersion() > 100)
            throw new ModelFormatException(source, "ir_version", "unexpected ONNX IR version " + m.getIrVersion()
                    + " (is it an ONNX file?)", null);
        return m;
    }

    static int opset(ModelProto m) {
        for (OperatorSetIdProto o : m.getOpsetImportList())
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) return (int) o.getVersion();
        return m.getIrVersion() < 3 ? 1 : MIN_OPSET;
    }

    private static ModelDef convert(ModelProto m, Path file, OnnxOptions options) {
        GraphProto g = m.getGraph();
        int opset = opset(m);
        Path dir = file.toAbsolutePath().getParent();
        Converter cv = new Converter(g, opset, dir, options);
        Set<String> initNames = new HashSet<>();
        for (var t : g.getInitializerList()) {
            initNames.add(t.getName());
            OnnxTensor.checkInitializer(t, dir, "initializer '" + t.getName() + "'");
            cv.addInitializer(t);
        }
        Map<String, Integer> symbolValues = symbolValues(g, initNames, options);
        for (ValueInfoProto vi : g.getInputList()) {
            if (initNames.contains(vi.getName())) continue; // IR < 4 lists initializers as inputs too
            addInput(cv, vi, symbolValues, options);
        }
        for (String o : options.inputShapes().keySet())
            if (g.getInputList().stream().noneMatch(vi -> vi.getName().equals(o)))
                throw new OnnxError("input shape for " + o, "the model has no input named '" + o + "' (inputs: "
                        + String.join(", ", dataInputs(g, initNames)) + ")", Remedy.INPUT_SHAPE);
        cv.run();
        if (!cv.unsupported.isEmpty() && !options.opaqueUnsupported()) {
            StringBuilder b = new StringBuilder("unsupported operators: ");
            int i = 0;
            for (var e : cv.unsupported.entrySet()) b.append(i++ == 0 ? ""
                    : ", ").append(e.getKey()).append(" x").append(e.getValue());
            b.append(". First uses: ");
            i = 0;
            for (var e : cv.unsupportedExample.entrySet()) b.append(i++ == 0 ? "" : "; ").append(e.getValue());
            b.append(". They can be kept as opaque elementwise ops to see a profile anyway.");
            throw new OnnxError("graph", b.toString(), Remedy.KEEP_UNSUPPORTED_AS_OPAQUE);
        }
        attachLoss(cv, g, options);
        String name = g.getName().isEmpty() ? stem(file) : g.getName();
        String desc = "Imported from ONNX " + file.getFileName() + " (opset " + opset
                + (m.getProducerName().isEmpty() ? "" : ", " + m.getProducerName() + " "
                        + m.getProducerVersion()).trim() + ")"
                + (cv.unsupported.isEmpty() ? "" : "; opaque: " + cv.unsupported);
        ModelDef def = new ModelDef(name, desc, Map.of(), cv.layers, file.toString());
        Graph.instantiate(def, 1, DType.FP32);
        return def;
    }



    private static String stem(Path file) {
        String s = file.getFileName().toString();
        return s.endsWith(".onnx") ? s.substring(0, s.length() - 5) : s;
    }

    private static List<String> dataInputs(GraphProto g, Set<String> initNames) {
        List<String> out = new ArrayList<>();
        for (ValueInfoProto vi : g.getInputList()) if (!initNames.contains(vi.getName())) out.add(vi.getName());
        return out;
    }

    private static boolean isBatch(TensorShapeProto.Dimension d, int axis, OnnxOptions options) {
        if (options.batchSymbol() != null) return d.hasDimParam() && d.getDimParam().equals(options.batchSymbol());
        return axis == 0;
    }

    /** Values of the non-batch symbols, from --input-shape; one symbol gets one value wherever it appears. */
    private static Map<String, Integer> symbolValues(GraphProto g, Set<String> initNames, OnnxOptions options) {
        Map<String, Integer> vals = new LinkedHashMap<>();
        for (ValueInfoProto vi : g.getInputList()) {
            int[] given = options.inputShapes().get(vi.getName());
            if (given == null || initNames.contains(vi.getName())) continue;
            var dims = vi.getType().getTensorType().getShape().getDimList();
            for (int i = 0; i < Math.min(dims.size(), given.length); i++)
                if (dims.get(i).hasDimParam() && !isBatch(dims.get(i), i, options))
                    vals.putIfAbsent(dims.get(i).getDimParam(), given[i]);
        }
        return vals;
    }

    private static void addInput(Converter cv, ValueInfoProto vi, Map<String, Integer> symbols, OnnxOptions options) {
        String name = vi.getName();
        String where = "input '" + name + "'";
        if (!vi.getType().hasTensorType()) throw new OnnxError(where,
                "only tensor inputs are supported (not sequences or maps)");
        var tt = vi.getType().getTensorType();
        int et = tt.getElemType();
        DType dtype = OnnxTensor.isFloating(et) ? null : Converter.dtypeOf(et);
        if (!OnnxTensor.isFloating(et) && dtype == null) throw new OnnxError(where,
                "unsupported element type " + OnnxTensor.typeName(et));
        if (!tt.hasShape()) throw new OnnxError(where, "has no shape in the file; it cannot be inferred");
        var dims = tt.getShape().getDimList();
        int[] given = options.inputShapes().get(name);
        if (given != null && given.length != dims.size())
            throw new OnnxError(where, "the given shape has " + given.length + " dimensions but the input has rank "
                    + dims.size(), Remedy.INPUT_SHAPE);
        List<String> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < dims.size(); i++) {
            var d = dims.get(i);
            if (d.hasDimValue() && d.getDimValue() > Integer.MAX_VALUE)
                throw new OnnxError(where, "axis " + i + " has size " + d.getDimValue() + ", larger than "
                        + Integer.MAX_VALUE + ", the largest MemPlan models");
            String sym = d.hasDimParam() ? "'" + d.getDimParam() + "'" : "?";
            if (isBatch(d, i, options)) {
                out.add(ModelDef.BATCH);
                if (d.hasDimValue() && d.getDimValue() > 0 && cv.fileBatch < 0) cv.fileBatch = (int) d.getDimValue();
            } else if (d.hasDimValue() && d.getDimValue() > 0) {
                if (given != null && given[i] != d.getDimValue())
                    throw new OnnxError(where, "the given shape has " + given[i] + " for axis " + i
                            + ", which the model fixes to " + d.getDimValue(), Remedy.INPUT_SHAPE);
                out.add(Long.toString(d.getDimValue()));
            } else if (given != null) out.add(Integer.toString(given[i]));
            else if (d.hasDimParam() && symbols.containsKey(d.getDimParam()))
                out.add(Integer.toString(symbols.get(d.getDimParam())));
            else {
                missing.add(sym + " (axis " + i + ")");
                out.add("?");
            }
        }
        if (!missing.isEmpty()) {
            StringBuilder ex = new StringBuilder();
            for (int i = 0; i < dims.size(); i++) {
                var d = dims.get(i);
                ex.append(i == 0 ? "" : "x").append(isBatch(d, i, options) ? "1"
                        : d.hasDimValue() && d.getDimValue() > 0
                        ? Long.toString(d.getDimValue()) : d.hasDimParam() ? d.getDimParam() : "?");
            }
            throw new OnnxError(where, "has symbolic dimensions " + String.join(", ", missing)
                    + " with no value: give its shape, e.g. " + name + "=" + ex
                    + " (numbers in place of the symbols; the batch is set when profiling)", Remedy.INPUT_SHAPE,
                    name + "=" + ex);
        }
        cv.addInput(name, out, dtype);
    }

    /**
     * Training needs a loss: a target Input and a CrossEntropy (int64 class targets) or MseLoss (float targets of the
     * output's shape) on the chosen graph output.
     */
    private static void attachLoss(Converter cv, GraphProto g, OnnxOptions options) {
        if (g.getOutputCount() == 0) throw new OnnxError("graph", "the graph has no outputs");
        String outName = options.output() != null ? options.output() : g.getOutput(0).getName();
        if (g.getOutputList().stream().noneMatch(o -> o.getName().equals(outName)))
            throw new OnnxError("output " + outName, "the graph has no output named '" + outName + "'",
                    Remedy.OUTPUT_NAME);
        Val y = cv.vals.get(outName);
        if (y == null || !y.isAct())
            throw new OnnxError("output '" + outName + "'", y == null ? "is not produced by any node"
                    : "is a constant or the result of an unsupported operator; training needs a computed output");
        if (y.dtype != null && !y.dtype.floating)
            throw new OnnxError("output '" + outName + "'", "is " + y.dtype.jsonName()
                    + ", not a floating tensor a loss can train");
        int rank = y.rank();
        OnnxOptions.Loss loss = options.loss();
        if (loss == OnnxOptions.Loss.AUTO) loss = rank == 2 ? OnnxOptions.Loss.CE : OnnxOptions.Loss.MSE;
        if (loss == OnnxOptions.Loss.CE && rank < 2)
            throw new OnnxError("output '" + outName + "'",
                    "cross-entropy needs logits of rank 2 or more, got " + y.shape[0]
                    + "; a mean-squared-error loss can train it", Remedy.MSE_LOSS);
        int classAxis = rank == 3 ? -1 : 1; // [N, C], [N, T, V] (language models), [N, C, H, W] (segmentation)
        long[][] target = new long[Converter.LANES][];
        for (int lane = 0; lane < Converter.LANES; lane++) {
            int[] d = y.shape[lane].dims();
            if (loss == OnnxOptions.Loss.CE) {
                int ax = classAxis < 0 ? rank - 1 : classAxis;
                long[] t = new long[rank - 1];
                for (int i = 0, j = 0; i < rank; i++) if (i != ax) t[j++] = d[i];
                target[lane] = t;
            } else target[lane] = Arrays.stream(d).asLongStream().toArray();
        }
        DType tdt = loss == OnnxOptions.Loss.CE ? DType.INT64 : null;
        String ref = targetInput(cv, target, tdt);
        String lossName = cv.uniqueName("loss");
        cv.layers.add(Layer.of(lossName, loss == OnnxOptions.Loss.CE ? new CrossEntropy(classAxis)
                : new MseLoss(), y.ref, ref));
    }

    /**
     * An Input of the target's shape; a batch-dependent dimension other than the batch itself goes through a Reshape.
     */
    private static String targetInput(Converter cv, long[][] t, DType dtype) {
        List<String> dims = new ArrayList<>();
        boolean direct = true;
        for (int i = 0; i < t[0].length; i++) {
            if (t[0][i] == t[1][i]) dims.add(Long.toString(t[0][i]));
            else if (t[0][i] == Converter.LANE_BATCH[0] && t[1][i] == Converter.LANE_BATCH[1]) dims.add(ModelDef.BATCH);
            else direct = false;
        }
        String name = cv.uniqueName("target");
        if (direct) {
            cv.layers.add(new Layer(name, new Input(dims, dtype), List.of()));
            return name;
        }
        long n0 = 1, n1 = 1;
        for (long v : t[0]) n0 *= v;
        for (long v : t[1]) n1 *= v;
        long per = n0 / Converter.LANE_BATCH[0];
        if (per * Converter.LANE_BATCH[0] != n0 || per * Converter.LANE_BATCH[1] != n1)
            throw new OnnxError("output",
                    "the output's size is not proportional to the batch; cannot shape a target for it");
        cv.layers.add(new Layer(name, new Input(List.of(ModelDef.BATCH, Long.toString(per)), dtype), List.of()));
        Shape[] s = {Shape.of(Converter.LANE_BATCH[0], (int) per), Shape.of(Converter.LANE_BATCH[1], (int) per)};
        return cv.reshapeTo(name + "_reshape", Val.act(name, s, dtype), t).ref;
    }
}
