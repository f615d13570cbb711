package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.io.AtomicFileWriter;
import memplan.model.ModelDef;
import memplan.parallel.DeepSpeedConfig;
import memplan.parallel.LayoutSearch;
import memplan.parallel.RankMemory;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;

/** The fewest GPUs, and the layout, on which a model trains at a global batch. */
@Command(name = "fit", mixinStandardHelpOptions = true,
        description = "Fewest GPUs (a power of two) and the parallel layout (data, sharded, tensor, pipeline, "
                + "micro-batches) on which a model trains at a global batch, with the per-rank peak; or, with "
                + "--max-seq / --max-batch, the longest sequence or largest batch that trains on one GPU.")
public final class FitCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    FrameworkArgs framework = new FrameworkArgs();

    @Option(names = "--gpu", paramLabel = "NAME", defaultValue = "h100",
            description = "GPU whose memory each rank has: h100, h200, a100, a100-40, v100, rtx4090, rtx3090 "
                    + "(default: ${DEFAULT-VALUE}).")
    String gpu;

    @Option(names = "--memory", paramLabel = "SIZE",
            description = "Memory per GPU instead of the GPU's (e.g. 40GiB).")
    String memory;

    @Option(names = "--max-gpus", paramLabel = "N", defaultValue = "1024",
            description = "Most GPUs to consider (default: ${DEFAULT-VALUE}).")
    int maxGpus;

    @Option(names = "--max-stages", paramLabel = "P", defaultValue = "16",
            description = "Most pipeline stages to consider (default: ${DEFAULT-VALUE}).")
    int maxStages;

    @Option(names = "--max-micro-batches", paramLabel = "M",
            description = "Most micro-batches (gradient accumulation steps) per iteration (default: no limit).")
    Integer maxMicroBatches;

    @Option(names = "--deepspeed-config", paramLabel = "FILE",
            description = "Write the DeepSpeed configuration of the layout found to this JSON file (the search then "
                    + "tries DeepSpeed's shard modes only: none, zero1, zero2, zero3).")
    Path deepspeed;

    @Option(names = "--max-seq", description = "On one GPU instead: the longest sequence (dimension T) that trains at "
            + "--batch with the training setup, with the baseline and each --planner.")
    boolean maxSeq;

    @Option(names = "--max-batch", description = "On one GPU instead: the largest batch that trains at the --dim "
            + "values with the training setup, with the baseline and each --planner.")
    boolean maxBatch;

    @Option(names = "--planner", paramLabel = "NAME[,NAME...]", split = ",",
            description = "With --max-seq or --max-batch: also the answer with these planners' help at the same "
                    + "memory (e.g. recompute-greedy,hybrid-greedy).")
    List<String> planners = new ArrayList<>();

    @Option(names = "--limit", paramLabel = "N", defaultValue = "1048576",
            description = "With --max-seq or --max-batch: the largest value to try (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (deepspeed != null) AtomicFileWriter.refuseInputs(deepspeed, model.inputFiles());
        if (model.batch <= 0) throw new CliException("--batch must be a positive integer, got " + model.batch);
        if (maxGpus < 1) throw new CliException("--max-gpus must be positive, got " + maxGpus);
        if (maxStages < 1) throw new CliException("--max-stages must be positive, got " + maxStages);
        if (maxMicroBatches != null && maxMicroBatches < 1)
            throw new CliException("--max-micro-batches must be positive, got " + maxMicroBatches);
        DeviceModel d = DeviceModel.preset(gpu);
        long capacity = memory == null ? d.capacityBytes() : ByteSize.parse(memory);
        if (capacity <= 0) throw new CliException("--memory must be positive, got '" + memory + "'");
        ModelDef m = model.loadModel();
        var dtype = model.floatType();
        var opt = model.optimizerKind();
        var fw = framework.profile();
        var setup = model.setup();
        model.graph(m);   // checks --dim and the model at the given batch before the search
        PrintWriter out = spec.commandLine().getOut();
        if (maxSeq || maxBatch)
            return new OneGpuFit(m, model, fw, setup, d, capacity, maxSeq, planners, limit).print(out, json);
        if (!planners.isEmpty()) throw new CliException("--planner is for --max-seq and --max-batch (one GPU)");
        IntFunction<Schedule> at = b -> TrainingGraph.derive(Graph.instantiate(m, b, dtype, model.dims), opt, fw,
                setup);
        LayoutSearch search = new LayoutSearch(at, deepspeed == null ? LayoutSearch.SHARDS
                : LayoutSearch.DEEPSPEED_SHARDS);
        long t0 = System.nanoTime();
        List<LayoutSearch.Fit> fits = search.fewestDevices(model.batch, capacity, maxGpus, maxStages,
                maxMicroBatches == null ? model.batch : maxMicroBatches);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (fits.isEmpty()) throw new CliException(m.name() + " at batch " + model.batch + " fits no layout of up to "
                + maxGpus + " GPUs of " + ByteSize.format(capacity) + " (raise --max-gpus, or lower --batch or --dim)");
        LayoutSearch.Fit best = fits.get(0);
        if (deepspeed != null) {
            AtomicFileWriter.writeString(deepspeed, DeepSpeedConfig.of(best.layout(), model.batch, dtype, opt, null),
                    model.inputFiles());
        }
        RankMemory h = best.profile().highest();
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            ObjectNode n = Json.object();
            n.put("model", m.name());
            n.put("gpu", d.name());
            n.put("memoryPerGpuBytes", capacity);
            n.put("globalBatch", model.batch);
            n.put("gpus", best.layout().worldSize());
            n.set("layout", RankReport.json(best.profile(), model.batch));
            ArrayNode alt = n.putArray("alternatives");
            for (LayoutSearch.Fit f : fits.subList(1, fits.size())) {
                ObjectNode a = alt.addObject();
                a.put("layout", f.layout().describe());
                a.put("microBatchSize", f.microBatchSize());
                a.put("highestPeakBytes", f.peakBytes());
            }
            n.put("layoutsEvaluated", search.evaluated());
            n.put("searchMillis", Math.round(ms));
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  global batch %d  on %s (%s per GPU)%n", m.name(), model.batch, d.name(),
                ByteSize.format(capacity));
        o.printf(Locale.ROOT, "fewest GPUs     %d%n", best.layout().worldSize());
        o.printf(Locale.ROOT, "per-rank peak   %s (rank %d, %.0f%% of %s)%n", ByteSize.format(h.peakBytes()),
                h.globalRank(best.layout()), 100.0 * h.peakBytes() / capacity, ByteSize.format(capacity));
        RankReport.print(o, best.profile(), model.batch, capacity);
        if (fits.size() > 1) {
            o.println("also fits on " + best.layout().worldSize() + ":");
            for (LayoutSearch.Fit f : fits.subList(1, Math.min(fits.size(), 6)))
                o.printf(Locale.ROOT, "  %-44s micro-batch %-5d peak %s%n", f.layout().describe(),
                        f.microBatchSize(), ByteSize.format(f.peakBytes()));
        }
        o.printf(Locale.ROOT, "searched %d layouts in %.0f ms%n", search.evaluated(), ms);
        if (deepspeed != null) o.println("wrote " + deepspeed);
        return 0;
    }
}
