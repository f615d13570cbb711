package memplan.planner;

import memplan.framework.FrameworkProfile;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Input;
import memplan.sim.DeviceModel;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.train.TrainingSetup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * What fits one device for a training setup: the largest batch at fixed dimensions, or the largest value of one
 * dimension symbol (the sequence length T of a language model) at a fixed batch, with the baseline plan and with
 * the help of other planners (recompute, swap) at the same budget. The search is {@link MaxBatch}'s (doubling,
 * then bisection), which needs the peak to grow with the value searched, as activations do.
 *
 * @param model  the model (with its LoRA adapters, if any)
 * @param batch  the batch when a dimension is searched
 * @param dims   the other dimension values (overrides of the model's defaults)
 * @param symbol {@link ModelDef#BATCH} for the batch, else the dimension symbol to search
 */
public record DeviceFit(ModelDef model, int batch, DType floatType, Map<String, Integer> dims, String symbol,
                        Optimizer optimizer, FrameworkProfile framework, TrainingSetup setup) {
    /** The answer of one planner: the largest value that fits (0: not even 1), with its plan and simulation. */
    public record Answer(String planner, int largest, MaxBatch.Result result) {
        /** The simulated peak at the largest value, or 0 when nothing fits. */
        public long peakBytes() {
            return result.result() == null ? 0 : result.result().peakBytes();
        }
    }

    public DeviceFit {
        dims = Map.copyOf(dims);
        if (batch < 1) throw new IllegalArgumentException("the batch must be positive, got " + batch);
        if (!symbol.equals(ModelDef.BATCH) && !symbols(model).contains(symbol))
            throw new IllegalArgumentException(model.name() + " has no dimension symbol '" + symbol + "' to search"
                    + (symbols(model).isEmpty() ? " (it has none besides the batch)"
                    : " (its symbols: " + String.join(", ", symbols(model)) + ")"));
    }

    /** Whether the batch is searched (else a dimension). */
    public boolean searchesBatch() {
        return symbol.equals(ModelDef.BATCH);
    }

    /** The dimension symbols of a model besides the batch: its declared ones and those its inputs name. */
    public static Set<String> symbols(ModelDef m) {
        Set<String> s = new LinkedHashSet<>(m.dims().keySet());
        for (Layer l : m.layers())
            if (l.op() instanceof Input in)
                for (String d : in.dims()) if (!Character.isDigit(d.charAt(0)) && !d.equals(ModelDef.BATCH)) s.add(d);
        return s;
    }

    /** The training iteration at a value of the searched symbol. */
    public Schedule scheduleAt(int value) {
        Map<String, Integer> d = new LinkedHashMap<>(dims);
        if (!searchesBatch()) d.put(symbol, value);
        Graph g = Graph.instantiate(model, searchesBatch() ? value : batch, floatType, d);
        return TrainingGraph.derive(g, optimizer, framework, setup);
    }

    /** The largest value up to {@code limit} whose plan by {@code planner} fits {@code budgetBytes}. */
    public Answer largest(Planner planner, long budgetBytes, DeviceModel device, int limit) {
        IntFunction<Schedule> at = this::scheduleAt;
        MaxBatch.Result r = MaxBatch.search(at, planner, budgetBytes, device, limit);
        return new Answer(planner.name(), r.batch(), r);
    }

    /** The baseline's answer first, then each other planner's, at the same budget. */
    public List<Answer> largest(List<Planner> planners, long budgetBytes, DeviceModel device, int limit) {
        List<Answer> out = new ArrayList<>();
        out.add(largest(Planners.named("baseline"), budgetBytes, device, limit));
        for (Planner p : planners) if (!p.name().equals("baseline")) out.add(largest(p, budgetBytes, device, limit));
        return out;
    }
}
