package memplan.app.ui.planner;

import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.DeviceModel;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Simple budget-driven planners written in the app against the public engine API (used while the engine's
 * {@code memplan.planner} package is not on the class path): each orders its candidate decisions, and applies the
 * shortest valid prefix whose lowered peak fits the budget (binary search over the prefix length).
 */
public final class GreedyPlanners implements PlannerCatalog {
    private static final Map<String, String> DESCRIPTIONS = new java.util.LinkedHashMap<>();

    static {
        DESCRIPTIONS.put("baseline", "keep everything (what an eager framework does)");
        DESCRIPTIONS.put("share", "in-place element-wise ops, then gradients reuse dead buffers");
        DESCRIPTIONS.put("swap", "swap the largest saved activations to the host until the budget fits");
        DESCRIPTIONS.put("recompute", "recompute the cheapest saved activations (checkpoint the expensive layers)");
        DESCRIPTIONS.put("compress", "1-bit masks for ReLU outputs, then fp16 for the largest saved activations (lossy)");
        DESCRIPTIONS.put("hybrid", "share, then swap the largest, then recompute cheap ops, until the budget fits");
    }

    @Override
    public List<String> names() {
        return List.copyOf(DESCRIPTIONS.keySet());
    }

    @Override
    public String describe(String name) {
        return DESCRIPTIONS.getOrDefault(name, name);
    }

    @Override
    public Plan plan(String name, Schedule s, long budget, DeviceModel device) {
        Plan base = Plan.baseline(s);
        List<Function<Plan, Plan>> steps = switch (name) {
            case "baseline" -> List.of();
            case "share" -> share(s);
            case "swap" -> swap(s);
            case "recompute" -> recompute(s);
            case "compress" -> compress(s);
            case "hybrid" -> {
                List<Function<Plan, Plan>> l = new ArrayList<>(share(s));
                l.addAll(swap(s));
                l.addAll(recompute(s));
                yield l;
            }
            default -> throw new IllegalArgumentException("unknown planner '" + name + "' (known: " + String.join(", ", names()) + ")");
        };
        // Prefix plans: plan k applies the first k valid steps.
        List<Plan> prefix = new ArrayList<>();
        prefix.add(base);
        Plan cur = base;
        for (Function<Plan, Plan> f : steps) {
            Plan q = f.apply(cur);
            if (q != cur && PlanValidator.problems(q).isEmpty()) {
                cur = q;
                prefix.add(cur);
            }
        }
        if (name.equals("share")) return cur.withPlanner(name); // sharing costs nothing: always all of it
        int lo = 0, hi = prefix.size() - 1;
        if (peak(prefix.get(hi), device) > budget) return prefix.get(hi).withPlanner(name);
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (peak(prefix.get(mid), device) <= budget) hi = mid;
            else lo = mid + 1;
        }
        return prefix.get(lo).withPlanner(name);
    }

    private static long peak(Plan p, DeviceModel d) {
        return Lowering.lower(p, d).peakBytes();
    }

    static List<Integer> saved(Schedule s) {
        boolean[] saved = new boolean[s.tensorCount()];
        for (Step st : s.steps())
            if (st.phase() == Phase.BACKWARD) for (int t : st.reads()) saved[t] = true;
        List<Integer> out = new ArrayList<>();
        for (TensorInfo t : s.tensors()) if (t.kind() == TensorKind.ACTIVATION && saved[t.id()]) out.add(t.id());
        out.sort(Comparator.comparingLong((Integer t) -> s.tensor(t).bytes()).reversed().thenComparing(t -> t));
        return out;
    }

    static String opOf(Schedule s, int t) {
        TensorInfo ti = s.tensor(t);
        if (ti.value() < 0) return "";
        int p = s.graph().value(ti.value()).producer();
        return p < 0 ? "" : s.graph().nodes().get(p).op().type();
    }

    static Function<Plan, Plan> set(int t, Decision d) {
        return p -> p.decision(t) instanceof Decision.Keep ? p.with(t, d) : p;
    }

    static List<Function<Plan, Plan>> swap(Schedule s) {
        List<Function<Plan, Plan>> l = new ArrayList<>();
        for (int t : saved(s)) l.add(set(t, Decision.Swap.auto()));
        return l;
    }

    static boolean cheap(String op) {
        return !(op.equals("Conv2d") || op.equals("Linear") || op.equals("MatMul") || op.equals("Attention") || op.equals("LSTMCell") || op.isEmpty());
    }

    static List<Function<Plan, Plan>> recompute(Schedule s) {
        List<Function<Plan, Plan>> l = new ArrayList<>();
        for (int t : saved(s)) if (cheap(opOf(s, t))) l.add(set(t, Decision.RECOMPUTE));
        return l;
    }

    static List<Function<Plan, Plan>> compress(Schedule s) {
        List<Function<Plan, Plan>> l = new ArrayList<>();
        List<Integer> saved = saved(s);
        for (int t : saved)
            if (opOf(s, t).equals("ReLU")) {
                l.add(p -> {
                    Plan q = set(t, new Decision.Compress(Codec.MASK_1BIT, 1, false)).apply(p);
                    return PlanValidator.problems(q).isEmpty() ? q : set(t, new Decision.Compress(Codec.SPARSE, 0.5, false)).apply(p);
                });
            }
        for (int t : saved) if (s.tensor(t).dtype() == memplan.ir.DType.FP32) l.add(set(t, new Decision.Compress(Codec.FP16, 1, false)));
        return l;
    }

    static List<Function<Plan, Plan>> share(Schedule s) {
        List<Function<Plan, Plan>> l = new ArrayList<>();
        for (Node n : s.graph().nodes()) {
            if (!n.op().mayRunInPlace() || s.forwardStep(n.index()) < 0) continue;
            int out = s.tensorOfValue(n.outputs()[0]), in = s.tensorOfValue(n.inputs()[0]);
            if (out >= 0 && in >= 0) l.add(set(out, new Decision.Share(in)));
        }
        List<TensorInfo> grads = new ArrayList<>();
        for (TensorInfo t : s.tensors()) if (t.kind() == TensorKind.ACTIVATION_GRAD) grads.add(t);
        grads.sort(Comparator.comparingLong(TensorInfo::bytes).reversed());
        for (TensorInfo t : grads.subList(0, Math.min(40, grads.size()))) { // the largest: each search validates plans
            int id = t.id();
            l.add(p -> {
                if (!(p.decision(id) instanceof Decision.Keep)) return p;
                try {
                    return p.with(id, memplan.app.ui.session.PlanEdits.decisionFor(p, id, memplan.app.ui.table.Technique.SHARE));
                } catch (IllegalArgumentException e) {
                    return p;
                }
            });
        }
        return l;
    }
}
