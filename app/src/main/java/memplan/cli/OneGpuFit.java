package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.framework.FrameworkProfile;
import memplan.model.ModelDef;
import memplan.planner.DeviceFit;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.sim.DeviceModel;
import memplan.train.TrainingSetup;
import memplan.units.ByteSize;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * `memplan fit --max-seq` / `--max-batch`: the longest sequence or largest batch that trains on one GPU with the
 * training setup of the flags, with the baseline and with each planner's help at the same memory.
 */
final class OneGpuFit {
    static final String SEQUENCE = "T";

    private final ModelDef model;
    private final ModelOptions options;
    private final DeviceFit fit;
    private final TrainingSetup setup;
    private final DeviceModel device;
    private final long capacity;
    private final List<Planner> planners = new ArrayList<>();
    private final int limit;

    OneGpuFit(ModelDef m, ModelOptions o, FrameworkProfile fw, TrainingSetup setup, DeviceModel d, long capacity,
              boolean sequence, List<String> plannerNames, int limit) {
        if (sequence && o.dims.containsKey(SEQUENCE))
            throw new CliException("--max-seq searches T: leave out --dim T=" + o.dims.get(SEQUENCE));
        if (limit < 1) throw new CliException("--limit must be positive, got " + limit);
        if (sequence && !DeviceFit.symbols(m).contains(SEQUENCE))
            throw new CliException("--max-seq: " + m.name() + " has no sequence dimension T (use --max-batch"
                    + (DeviceFit.symbols(m).isEmpty() ? ")" : ", or its symbols: "
                    + String.join(", ", DeviceFit.symbols(m)) + ")"));
        for (String n : plannerNames) planners.add(Planners.named(n.trim()));
        this.model = m;
        this.options = o;
        this.setup = setup;
        this.device = d.withCapacity(capacity);
        this.capacity = capacity;
        this.limit = limit;
        this.fit = new DeviceFit(m, o.batch, o.floatType(), o.dims, sequence ? SEQUENCE : ModelDef.BATCH,
                o.optimizerKind(), fw, setup);
    }

    int print(PrintWriter o, boolean json) {
        long t0 = System.nanoTime();
        List<DeviceFit.Answer> answers = fit.largest(planners, capacity, device, limit);
        double ms = (System.nanoTime() - t0) / 1e6;
        String what = fit.searchesBatch() ? "batch" : "T";
        if (json) {
            ObjectNode n = Json.object();
            n.put("model", model.name());
            n.put("gpu", device.name());
            n.put("memoryBytes", capacity);
            n.put("searched", fit.searchesBatch() ? "batch" : SEQUENCE);
            if (!fit.searchesBatch()) n.put("batch", options.batch);
            n.put("setup", describe());
            ArrayNode a = n.putArray("answers");
            for (DeviceFit.Answer x : answers) {
                ObjectNode e = a.addObject();
                e.put("planner", x.planner());
                e.put("largest", x.largest());
                if (x.largest() > 0) {
                    e.put("peakBytes", x.peakBytes());
                    e.put("overhead", x.result().result().overhead());
                }
                e.put("probes", x.result().probes());
            }
            n.put("searchMillis", Math.round(ms));
            o.println(Json.write(n));
            return 0;
        }
        o.printf(Locale.ROOT, "%s  on one %s (%s)%s%n", model.name(), device.name(), ByteSize.format(capacity),
                describe().isEmpty() ? "" : "  " + describe());
        String head = fit.searchesBatch() ? "largest batch" + dimsNote() : "longest T at batch " + options.batch;
        for (DeviceFit.Answer x : answers) {
            String label = String.format(Locale.ROOT, "%s (%s)", head, x.planner());
            if (x.largest() == 0) {
                o.printf(Locale.ROOT, "%-44s none: %s 1 does not fit%n", label, what);
                continue;
            }
            o.printf(Locale.ROOT, "%-44s %,d  peak %s%s%s%n", label, x.largest(), ByteSize.format(x.peakBytes()),
                    x.planner().equals("baseline") ? ""
                            : String.format(Locale.ROOT, ", time overhead %+.1f%%", 100 * x.result().result()
                            .overhead()),
                    x.largest() >= limit ? " (the --limit)" : "");
        }
        o.printf(Locale.ROOT, "searched in %.0f ms%n", ms);
        return 0;
    }

    /** LoRA (from the flags) and the rest of the setup, for the header line. */
    private String describe() {
        List<String> parts = new ArrayList<>();
        var lora = options.training.loraConfig();
        if (lora != null) parts.add(String.format(Locale.ROOT, "LoRA r=%d on %s", lora.rank(),
                String.join(", ", lora.targets())));
        else if (!setup.frozen().isEmpty()) parts.add("frozen " + String.join(", ", setup.frozen().frozen()));
        if (!setup.describe().isEmpty()) parts.add(setup.describe());
        parts.add(options.optimizer);
        return String.join("; ", parts);
    }

    private String dimsNote() {
        if (options.dims.isEmpty()) return "";
        List<String> d = new ArrayList<>();
        options.dims.forEach((k, v) -> d.add(k + "=" + v));
        return " at " + String.join(", ", d);
    }
}
