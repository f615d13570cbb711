package memplan.export;

import memplan.backend.Codec;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.ops.UnaryOp;
import memplan.parallel.Layout;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes a plan as a Python module that installs it on the user's own PyTorch model (docs/pytorch-export.md).
 * MemPlan's tensors map to module calls through the ONNX node names ({@link ModuleScope}): a decision on the
 * output of a module call (a Conv2d, a BatchNorm2d, a ReLU) becomes a rule for every saved use of that output; a
 * decision on what a call saves besides its output (statistics, indices) a rule for those; tensors made by
 * functions inside a larger module are covered by a torch.utils.checkpoint region when the plan recomputes all
 * that module saves inside. Every other decision is listed as not expressed, with the reason.
 */
public final class PyTorchExporter {
    private static final String RUNTIME = "/memplan/export/pytorch_runtime.py";

    private PyTorchExporter() {
    }

    /** How a decision's tensor relates to a module call. */
    private record Target(int tensor, String module, String part) {
    }

    public static PyTorchExport export(Plan plan) {
        return export(plan, null);
    }

    /**
     * As {@link #export(Plan)}, and with a layout (or null) the module also has {@code wrap(model, ...)}: the DDP,
     * ZeroRedundancyOptimizer or FSDP wrapping of the layout ({@link ParallelWrap}). The plan is one rank's.
     */
    public static PyTorchExport export(Plan plan, Layout layout) {
        Schedule s = plan.schedule();
        Graph g = s.graph();
        List<Node> nodes = g.nodes();
        String[] scope = new String[nodes.size()];
        for (Node n : nodes) scope[n.index()] = ModuleScope.of(n.name()).orElse(null);
        boolean[] saved = new boolean[s.tensorCount()];
        for (Step st : s.steps())
            if (st.phase() == Phase.BACKWARD) for (int r : st.reads()) saved[r] = true;

        List<NotExpressed> not = new ArrayList<>();
        List<Target> targets = new ArrayList<>();
        Map<String, List<Integer>> regionTensors = new LinkedHashMap<>();
        int swaps = 0;
        int explicitRecomputes = 0;
        int swappedCompress = 0;
        boolean lossy = false;
        for (int t = 0; t < plan.size(); t++) {
            Decision d = plan.decision(t);
            if (d instanceof Decision.Keep) continue;
            TensorInfo ti = s.tensor(t);
            String kind = d.kind();
            String why = unsupported(d);
            if (why != null) {
                not.add(new NotExpressed(ti.name(), kind, why));
                continue;
            }
            if (ti.kind() != TensorKind.ACTIVATION && ti.kind() != TensorKind.AUX) {
                not.add(new NotExpressed(ti.name(), kind, "not an activation: the module only acts on what "
                        + "autograd saves for backward; kept"));
                continue;
            }
            Value v = g.value(ti.value());
            int producer = v.producer();
            String m = producer < 0 ? null : scope[producer];
            if (m == null) {
                not.add(new NotExpressed(ti.name(), kind, "its layer name carries no PyTorch module path (export "
                        + "the model to ONNX from PyTorch to get one); kept"));
                continue;
            }
            if (m.isEmpty()) {
                not.add(new NotExpressed(ti.name(), kind, "made by a function in the model's own forward, not by a "
                        + "module call; kept"));
                continue;
            }
            Node nd = nodes.get(producer);
            if (leaf(m, scope)) {
                boolean out = contains(nd.outputs(), ti.value()) && nd.index() == outputNode(m, scope, g);
                targets.add(new Target(t, m, out ? "out" : "aux"));
            } else {
                String region = region(plan, m, ti.value(), scope, saved);
                if (region == null) {
                    not.add(new NotExpressed(ti.name(), kind, "made by a function inside module '" + m
                            + "' (not a module call of its own) and the plan keeps other tensors that module "
                            + "saves, so no checkpoint region covers it; kept"));
                    continue;
                }
                regionTensors.computeIfAbsent(region, k -> new ArrayList<>()).add(t);
                continue;
            }
            if (d instanceof Decision.Swap) swaps++;
            if (d instanceof Decision.Recompute r && r.explicit()) explicitRecomputes++;
            if (d instanceof Decision.Compress c) {
                lossy |= c.codec().lossy;
                if (c.swap()) swappedCompress++;
            }
        }

        // Decisions that only served one that is not expressed (a tensor recomputed only to recompute a kept one)
        // are not carried out either; the rest is a plan that MemPlan can simulate.
        Map<String, Integer> byName = new HashMap<>();
        for (TensorInfo ti : s.tensors()) byName.put(ti.name(), ti.id());
        Plan expressed = plan;
        for (NotExpressed n : not) expressed = expressed.with(byName.get(n.tensor()), Decision.KEEP);
        for (List<PlanProblem> ps = PlanValidator.problems(expressed); !ps.isEmpty();
             ps = PlanValidator.problems(expressed)) {
            for (PlanProblem p : ps) {
                not.add(new NotExpressed(p.tensorName(), p.decision(), "with the decisions above kept: " + p.reason()
                        + "; kept"));
                expressed = expressed.with(p.tensor(), Decision.KEEP);
            }
        }
        Plan carried = expressed;
        targets.removeIf(tg -> carried.decision(tg.tensor()) instanceof Decision.Keep);
        for (List<Integer> ts : regionTensors.values()) ts.removeIf(t -> carried.decision(t) instanceof Decision.Keep);
        regionTensors.values().removeIf(List::isEmpty);

        // Regions: outermost only; decisions on calls inside a region are carried out by the region.
        List<CheckpointRegion> regions = new ArrayList<>();
        for (var e : regionTensors.entrySet()) {
            boolean nested = regionTensors.keySet().stream()
                    .anyMatch(o -> !o.equals(e.getKey()) && ModuleScope.within(e.getKey(), o));
            if (nested) regionTensors.get(outer(e.getKey(), regionTensors)).addAll(e.getValue());
        }
        for (var e : regionTensors.entrySet()) {
            boolean nested = regionTensors.keySet().stream()
                    .anyMatch(o -> !o.equals(e.getKey()) && ModuleScope.within(e.getKey(), o));
            if (nested) continue;
            List<Integer> ts = new ArrayList<>(e.getValue());
            for (Target tg : targets) if (covered(tg, e.getKey(), g, scope, s)) ts.add(tg.tensor());
            regions.add(new CheckpointRegion(e.getKey(), ts.stream().sorted().map(i -> s.tensor(i).name()).toList()));
        }
        List<ExportedDecision> decisions = new ArrayList<>();
        Map<String, Decision> partDecision = new HashMap<>();
        Map<String, String> partOwner = new HashMap<>();
        for (Target tg : targets) {
            if (regions.stream().anyMatch(r -> covered(tg, r.module(), g, scope, s))) continue;
            TensorInfo ti = s.tensor(tg.tensor());
            Decision d = plan.decision(tg.tensor());
            String key = tg.module() + "#" + tg.part();
            Decision first = partDecision.putIfAbsent(key, d);
            if (first != null) {
                if (!sameRule(first, d))
                    not.add(new NotExpressed(ti.name(), d.kind(), "module '" + tg.module() + "' saves it together "
                            + "with '" + partOwner.get(key) + "', and the module applies one decision to all a call "
                            + "saves besides its output: that one's (" + first.kind() + ")"));
                continue;
            }
            partOwner.put(key, ti.name());
            List<Long> shape = new ArrayList<>();
            if (tg.part().equals("out")) for (int x : ti.shape().dims()) shape.add((long) x);
            String codec = d instanceof Decision.Compress c ? c.codec().jsonName() : null;
            decisions.add(new ExportedDecision(ti.name(), d.kind(), tg.module(), tg.part(), shape, codec));
        }

        // The module applies one rule to all a call saves besides its output (the inside of nn.MultiheadAttention,
        // a LayerNorm's statistics): the plan as PyTorch carries it out gives that rule to every such tensor.
        // A recompute replays the whole call from its inputs, so the call's intermediates that backward does not
        // read (attention's scores before the softmax) are not held for it either: they are recomputed too.
        boolean[] intermediate = new boolean[s.tensorCount()];
        for (int t = 0; t < s.tensorCount(); t++) {
            TensorInfo ti = s.tensor(t);
            if (ti.kind() != TensorKind.ACTIVATION && ti.kind() != TensorKind.AUX) continue;
            int producer = g.value(ti.value()).producer();
            String m = producer < 0 ? null : scope[producer];
            if (m == null || m.isEmpty() || !leaf(m, scope)) continue;
            Decision rule = partDecision.get(m + "#aux");
            Node nd = nodes.get(producer);
            boolean out = contains(nd.outputs(), ti.value()) && nd.index() == outputNode(m, scope, g);
            if (rule == null || out || (!saved[t] && !(rule instanceof Decision.Recompute))) continue;
            Decision now = expressed.decision(t);
            if (sameRule(now, rule)) continue;
            intermediate[t] = !saved[t] && now instanceof Decision.Keep;
            expressed = expressed.with(t, callWide(rule));
        }
        for (List<PlanProblem> ps = PlanValidator.problems(expressed); !ps.isEmpty();
             ps = PlanValidator.problems(expressed)) {
            for (PlanProblem p : ps) {
                if (!intermediate[p.tensor()])
                    not.add(new NotExpressed(p.tensorName(), p.decision(), "with the call-wide rules above: "
                            + p.reason() + "; kept"));
                expressed = expressed.with(p.tensor(), Decision.KEEP);
            }
        }

        // An elementwise module that may run in place on a planned output (ReLU6(inplace=True) after a BatchNorm)
        // saves a copy of that input: the copy follows the input's decision.
        List<ExportedDecision> follow = new ArrayList<>();
        for (ExportedDecision d : decisions) {
            if (!d.part().equals("out")) continue;
            int v = s.tensor(byName.get(d.tensor())).value();
            for (Node c : nodes) {
                String cm = scope[c.index()];
                if (cm == null || cm.isEmpty() || !(c.op() instanceof UnaryOp) || !leaf(cm, scope)
                        || c.index() != outputNode(cm, scope, g) || c.outputs().length != 1) continue;
                boolean reads = false;
                for (int in : c.inputs()) reads |= g.storageOf(in) == g.storageOf(v);
                String key = cm + "#aux";
                if (!reads || partDecision.containsKey(key)) continue;
                partDecision.put(key, Decision.KEEP);
                follow.add(new ExportedDecision(s.tensor(s.tensorOfValue(c.outputs()[0])).name(), "follow", cm,
                        "aux", List.of(), null));
            }
        }
        decisions.addAll(follow);

        List<String> warnings = new ArrayList<>();
        if (!not.isEmpty()) {
            StringBuilder b = new StringBuilder(not.size() + " of the plan's decisions cannot be expressed in "
                    + "PyTorch and are not carried out (NOT_EXPRESSED in the module says why), e.g. ");
            b.append(not.get(0).kind()).append(" '").append(not.get(0).tensor()).append("'");
            warnings.add(b.toString());
        }
        if (swaps > 0)
            warnings.add(swaps + " swap decision(s): PyTorch copies a tensor back when backward first needs it; the "
                    + "plan's swap-in and prefetch steps are not expressed");
        if (explicitRecomputes > 0)
            warnings.add(explicitRecomputes + " recompute decision(s) name rebuild steps: PyTorch rebuilds a tensor "
                    + "when backward first needs it and keeps it while a saved use lives");
        if (swappedCompress > 0)
            warnings.add(swappedCompress + " compress decision(s) also swap the encoded copy: it stays on the "
                    + "device");
        if (lossy) warnings.add("the plan is lossy (fp16/bf16 storage): results differ from the unplanned model");

        if (layout != null) warnings.addAll(ParallelWrap.warnings(s, layout));
        String src = source(plan, decisions, regions, not, warnings)
                + (layout == null ? "" : ParallelWrap.python(s, layout));
        return new PyTorchExport(src, decisions, regions, not, warnings, expressed);
    }

    private static String unsupported(Decision d) {
        if (d instanceof Decision.Share)
            return "PyTorch's allocator reuses freed memory by itself, and running in place is the model code's "
                    + "choice (inplace=True); the model runs as written";
        if (d instanceof Decision.Compress c && c.codec() == Codec.SPARSE)
            return "PyTorch has no sparse encoding of a saved tensor that its backward reads; kept";
        return null;
    }

    /** A rule as the module carries it out for another tensor of the call: no steps of the plan's own. */
    private static Decision callWide(Decision d) {
        if (d instanceof Decision.Recompute) return Decision.RECOMPUTE;
        if (d instanceof Decision.Swap) return Decision.Swap.auto();
        return d;
    }

    private static boolean sameRule(Decision a, Decision b) {
        if (!a.kind().equals(b.kind())) return false;
        return !(a instanceof Decision.Compress ca && b instanceof Decision.Compress cb) || ca.codec() == cb.codec();
    }

    private static boolean contains(int[] xs, int x) {
        for (int y : xs) if (y == x) return true;
        return false;
    }

    /** A module no other call happens inside (its nodes are all its own). */
    private static boolean leaf(String m, String[] scope) {
        for (String o : scope) if (o != null && !o.equals(m) && ModuleScope.within(o, m)) return false;
        return true;
    }

    /** The node of module m whose output leaves m (its call's output), or -1 when there is not exactly one. */
    private static int outputNode(String m, String[] scope, Graph g) {
        int found = -1;
        for (Node n : g.nodes()) {
            if (!m.equals(scope[n.index()])) continue;
            boolean leaves = false;
            for (Node c : g.nodes()) {
                if (c.index() == n.index() || (scope[c.index()] != null && ModuleScope.within(scope[c.index()], m)))
                    continue;
                for (int in : c.inputs())
                    for (int o : n.outputs()) if (g.storageOf(in) == g.storageOf(o)) leaves = true;
            }
            if (leaves) {
                if (found >= 0) return -1;
                found = n.index();
            }
        }
        return found;
    }

    /**
     * The innermost module at or above m (not the whole model) for which the plan recomputes every tensor made
     * inside it that backward reads, except the tensors that leave it, and in which {@code value} is one of those;
     * null when there is none.
     */
    private static String region(Plan plan, String m, int value, String[] scope, boolean[] saved) {
        Schedule s = plan.schedule();
        Graph g = s.graph();
        for (Optional<String> r = Optional.of(m); r.isPresent() && !r.get().isEmpty(); r = parent(r.get())) {
            String reg = r.get();
            boolean ok = true;
            boolean inside = false;
            for (Node n : g.nodes()) {
                String sc = scope[n.index()];
                if (sc == null || !ModuleScope.within(sc, reg)) continue;
                List<Integer> made = new ArrayList<>();
                for (int o : n.outputs()) made.add(o);
                for (int a : n.aux()) made.add(a);
                for (int v : made) {
                    int t = s.tensorOfValue(v);
                    if (t < 0 || !saved[t] || leaves(g, v, reg, scope)) continue;
                    if (!(plan.decision(t) instanceof Decision.Recompute)) ok = false;
                    if (g.storageOf(v) == g.storageOf(value)) inside = true;
                }
            }
            if (ok && inside) return reg;
        }
        return null;
    }

    /** Whether a region's checkpoint carries out this decision: made inside it and not leaving it. */
    private static boolean covered(Target tg, String region, Graph g, String[] scope, Schedule s) {
        return ModuleScope.within(tg.module(), region)
                && !leaves(g, s.tensor(tg.tensor()).value(), region, scope);
    }

    private static boolean leaves(Graph g, int v, String region, String[] scope) {
        for (Node c : g.nodes()) {
            String sc = scope[c.index()];
            if (sc != null && ModuleScope.within(sc, region)) continue;
            for (int in : c.inputs()) if (g.storageOf(in) == g.storageOf(v)) return true;
        }
        return false;
    }

    private static Optional<String> parent(String m) {
        int i = m.lastIndexOf('.');
        return Optional.of(i < 0 ? "" : m.substring(0, i));
    }

    private static String outer(String m, Map<String, List<Integer>> regions) {
        String best = m;
        for (String o : regions.keySet()) if (ModuleScope.within(best, o)) best = o;
        return best;
    }

    // ---------------------------------------------------------------- the Python text

    private static String source(Plan plan, List<ExportedDecision> decisions, List<CheckpointRegion> regions,
                                 List<NotExpressed> not, List<String> warnings) {
        Graph g = plan.schedule().graph();
        StringBuilder b = new StringBuilder();
        b.append("\"\"\"MemPlan plan for PyTorch: ").append(pyText(g.model().name())).append(", batch ")
                .append(g.batch()).append(", ").append(g.floatType().name().toLowerCase(Locale.ROOT)).append(", ")
                .append(plan.schedule().optimizer().name().toLowerCase(Locale.ROOT)).append(", planner ")
                .append(pyText(plan.planner())).append(".\n\n");
        b.append("Generated by `memplan export pytorch` (docs/pytorch-export.md); needs only PyTorch (1.13 or "
                + "later).\n\n");
        b.append("    import memplan_plan\n");
        b.append("    plan = memplan_plan.apply(model)    # checks the module paths; output shapes on the first "
                + "step\n");
        b.append("    with plan.step():\n");
        b.append("        loss = loss_fn(model(x), y)\n");
        b.append("    loss.backward()\n");
        b.append("\"\"\"\n");
        b.append("import contextlib\nimport warnings\nimport weakref\n\nimport torch\n"
                + "from torch.utils.checkpoint import checkpoint\n\n");
        b.append("PLAN = {\"model\": ").append(py(g.model().name())).append(", \"batch\": ").append(g.batch())
                .append(", \"planner\": ").append(py(plan.planner())).append(", \"tensors\": ")
                .append(plan.schedule().tensorCount()).append("}\n\n");
        b.append("# What the module does with the tensors a module call saves for backward:\n");
        b.append("# (MemPlan tensor, decision, module path, part: out = the call's output / aux = the rest it saves, "
                + "output shape, codec);\n# follow: an in-place module's saved copy of a planned input follows the "
                + "input's decision\n");
        b.append("DECISIONS = [\n");
        for (ExportedDecision d : decisions) {
            b.append("    (").append(py(d.tensor())).append(", ").append(py(d.kind())).append(", ")
                    .append(py(d.module())).append(", ").append(py(d.part())).append(", ");
            if (d.shape().isEmpty()) b.append("None");
            else {
                b.append('(');
                for (int i = 0; i < d.shape().size(); i++) b.append(i > 0 ? ", " : "").append(d.shape().get(i));
                b.append(d.shape().size() == 1 ? ",)" : ")");
            }
            b.append(", ").append(d.codec() == null ? "None" : py(d.codec())).append("),\n");
        }
        b.append("]\n\n");
        b.append("# Modules whose calls run under non-reentrant torch.utils.checkpoint (the plan recomputes all they "
                + "save inside):\n# (module path, first MemPlan tensor it covers)\n");
        b.append("REGIONS = [\n");
        for (CheckpointRegion r : regions) {
            b.append("    (").append(py(r.module())).append(", ").append(py(r.tensors().get(0))).append("),");
            b.append("  # covers ").append(r.tensors().size()).append(" tensor(s)\n");
        }
        b.append("]\n\n");
        b.append("# Decisions of the plan that PyTorch cannot carry out as the plan says: (tensor, decision, what "
                + "happens instead)\n");
        b.append("NOT_EXPRESSED = [\n");
        for (NotExpressed n : not)
            b.append("    (").append(py(n.tensor())).append(", ").append(py(n.kind())).append(", ")
                    .append(py(n.reason())).append("),\n");
        b.append("]\n\n");
        b.append("WARNINGS = [\n");
        for (String w : warnings) b.append("    ").append(py(w)).append(",\n");
        b.append("]\n");
        b.append(runtime());
        return b.toString();
    }

    private static String runtime() {
        try (InputStream in = PyTorchExporter.class.getResourceAsStream(RUNTIME)) {
            if (in == null) throw new IllegalStateException("missing resource " + RUNTIME);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A Python string literal. */
    static String py(String text) {
        return "\"" + pyText(text) + "\"";
    }

    private static String pyText(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (c == '\\' || c == '"') b.append('\\').append((char) c);
            else if (c >= 0x20 && c < 0x7f) b.append((char) c);
            else if (c <= 0xffff) b.append(String.format(Locale.ROOT, "\\u%04x", c));
            else b.append(String.format(Locale.ROOT, "\\U%08x", c));
        });
        return b.toString();
    }
}
