package memplan.cli;

import memplan.framework.AttentionImplementation;
import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Input;
import memplan.train.Amp;
import memplan.train.Optimizer;
import memplan.train.OptimizerStates;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.train.TrainingSetup;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The options every command that takes a model shares: the model, batch, dtype, optimizer and dimension values. */
public final class ModelOptions {
    @Parameters(index = "0", paramLabel = "MODEL",
            description = "A model file (.json or .onnx) or a bundled sample name (see `memplan models`).")
    String model;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).", defaultValue = "32")
    int batch;

    @Option(names = "--dtype",
            description = "Storage type of floating tensors: fp32, fp16 or bf16 (default: ${DEFAULT-VALUE}).",
                    defaultValue = "fp32")
    String dtype;

    @Option(names = "--optimizer", description = "sgd (with momentum), adam, or adam8bit (bitsandbytes' Adam8bit: "
            + "8-bit block-wise state; default: ${DEFAULT-VALUE}).",
            defaultValue = "adam")
    String optimizer;

    @Option(names = "--dim", paramLabel = "SYMBOL=VALUE",
            description = "Sets a dimension symbol of the model, e.g. --dim T=128 (repeatable).")
    Map<String, Integer> dims = new LinkedHashMap<>();

    @Option(names = "--attention", paramLabel = "model|eager|fused",
            description = "Attention kernels the framework runs: eager (keeps the probabilities, PyTorch 1.13's "
                    + "softmax(QK^T)V), fused (flash / memory-efficient: output and log-sum-exp) or model (each "
                    + "layer's own form; default: ${DEFAULT-VALUE}).", defaultValue = "model")
    String attention;

    @Mixin
    OnnxArgs onnx = new OnnxArgs();

    @Mixin
    TrainingArgs training = new TrainingArgs();

    /** The model file, if MODEL is a file rather than a bundled sample: an input no output may overwrite. */
    public List<Path> inputFiles() {
        return ModelSource.file(model).map(List::of).orElse(List.of());
    }

    /** The model, with LoRA adapters when --lora asks for them. */
    public ModelDef loadModel() {
        return attentionImplementation().applyTo(training.adapt(ModelSource.load(model, onnx.options())));
    }

    public AttentionImplementation attentionImplementation() {
        try {
            return AttentionImplementation.parse(attention);
        } catch (IllegalArgumentException e) {
            throw new CliException("--attention: " + e.getMessage());
        }
    }

    public DType floatType() {
        DType d = DType.parse(dtype);
        if (d == null || !d.floating) throw new CliException("--dtype must be fp32, fp16 or bf16, got '" + dtype + "'");
        return d;
    }

    public Optimizer optimizerKind() {
        if (EIGHT_BIT.equalsIgnoreCase(optimizer)) return Optimizer.ADAM;
        try {
            return Optimizer.parse(optimizer);
        } catch (IllegalArgumentException e) {
            throw new CliException("--optimizer: unknown optimizer '" + optimizer + "' (use sgd, adam or adam8bit)");
        }
    }

    private static final String EIGHT_BIT = "adam8bit";

    /** Frozen parameters, LoRA, gradient accumulation, 8-bit state, 4-bit weights and autocast from the flags. */
    public TrainingSetup setup() {
        TrainingSetup s = training.setup(EIGHT_BIT.equalsIgnoreCase(optimizer) ? OptimizerStates.BLOCKWISE_8BIT
                : OptimizerStates.FULL);
        if (s.amp() != Amp.NONE && floatType() != DType.FP32)
            throw new CliException("--amp keeps fp32 weights and gradients and computes in " + s.amp().cliName
                    + ": use it with --dtype fp32, not " + floatType().jsonName());
        return s;
    }

    public Graph graph(ModelDef m) {
        if (batch <= 0) throw new CliException("--batch must be a positive integer, got " + batch);
        return graph(m, batch);
    }

    /** The model at a batch other than --batch (one rank's micro-batch of a parallel layout). */
    public Graph graph(ModelDef m, int batch) {
        Set<String> symbols = new LinkedHashSet<>(m.dims().keySet());
        for (var l : m.layers())
            if (l.op() instanceof Input in)
                for (String d : in.dims()) if (!Character.isDigit(d.charAt(0))
                        && !d.equals(ModelDef.BATCH)) symbols.add(d);
        for (var e : dims.entrySet()) {
            if (e.getKey().equals(ModelDef.BATCH))
                throw new CliException("--dim N: the batch size is set with --batch");
            if (!symbols.contains(e.getKey()))
                throw new CliException("--dim " + e.getKey() + ": " + m.name()
                        + " has no dimension symbol '" + e.getKey() + "'"
                        + (symbols.isEmpty() ? " (it has none besides N)"
                                : " (its symbols: " + String.join(", ", symbols) + ")"));
            if (e.getValue() == null || e.getValue() <= 0) throw new CliException("--dim "
                    + e.getKey() + " must be positive");
        }
        return Graph.instantiate(m, batch, floatType(), dims);
    }

    public Schedule schedule() {
        return TrainingGraph.derive(graph(loadModel()), optimizerKind(), FrameworkProfile.GENERIC, setup());
    }

    /** The training iteration at the given batch as the framework lays it out in memory. */
    public Schedule schedule(ModelDef m, FrameworkProfile framework, int batch) {
        return TrainingGraph.derive(graph(m, batch), optimizerKind(), framework, setup());
    }

    /** The training iteration as the given framework lays it out in memory. */
    public Schedule schedule(FrameworkProfile framework) {
        return TrainingGraph.derive(graph(loadModel()), optimizerKind(), framework, setup());
    }
}
