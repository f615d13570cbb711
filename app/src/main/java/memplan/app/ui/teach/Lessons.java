package memplan.app.ui.teach;

import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.PlanEdits;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.timeline.TimelineData;
import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.ir.TensorRole;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The steps of each lesson, built for the open model: each step is a plan, the tensors to point at, and a short text.
 * Pure; the texts name the model's own tensors and sizes.
 */
public final class Lessons {
    private Lessons() {
    }

    /**
     * One step of a lesson: its plan, the tensors to point at, its evaluation and the text, every sentence of which is
     * computed from that evaluation and the one before (no claim the numbers on screen do not bear out).
     */
    public record Step(String title, String text, Plan plan, int[] focus, Evaluation eval) {
    }

    /** The steps of a lesson for the open model, each simulated on {@code dev} (a small model: milliseconds). */
    public static List<Step> build(Lesson lesson, Analysis a, DeviceModel dev) {
        return switch (lesson) {
            case SWAPPING -> swapping(a, dev);
            case RECOMPUTATION -> recomputation(a, dev);
            case SHARING -> sharing(a, dev);
            case COMPRESSION -> compression(a, dev);
        };
    }

    static Evaluation eval(Analysis a, Plan p, DeviceModel dev) {
        return SessionViewModel.evaluate(a, p, dev);
    }

    /** "The peak falls from 12 MiB to 10 MiB (2 MiB less, -16.7%)", "The peak stays at 12 MiB", or that it rises. */
    public static String peakChange(Evaluation from, Evaluation to) {
        long d = from.peakBytes() - to.peakBytes();
        if (d == 0) return "The peak stays at " + Fmt.bytes(to.peakBytes());
        String pct = Fmt.percent(-(double) d / from.peakBytes());
        return d > 0 ? "The peak falls from " + Fmt.bytes(from.peakBytes()) + " to " + Fmt.bytes(to.peakBytes()) + " ("
                + Fmt.bytes(d) + " less, " + pct + ")"
                : "The peak rises from " + Fmt.bytes(from.peakBytes()) + " to " + Fmt.bytes(to.peakBytes()) + " ("
                        + pct + ")";
    }

    /** "one iteration takes 1.2 ms instead of 1.0 ms (+20.0%)", or that it does not change. */
    public static String timeChange(Evaluation from, Evaluation to) {
        double r = to.iterationSeconds() / from.iterationSeconds() - 1;
        if (Double.isNaN(r) || Math.abs(r) < 0.0005) return "the iteration time stays at "
                + Fmt.seconds(to.iterationSeconds());
        return "one iteration takes " + Fmt.seconds(to.iterationSeconds()) + " instead of "
                + Fmt.seconds(from.iterationSeconds()) + " (" + Fmt.percent(r) + ")";
    }

    /** Both, as one sentence, against {@code from}. */
    static String effect(Evaluation from, Evaluation to) {
        return peakChange(from, to) + " and " + timeChange(from, to) + ".";
    }

    /** Where in the iteration the peak falls, read off the timeline. */
    static String peakPhase(Evaluation e) {
        TimelineData d = e.timeline();
        if (d.peakIndex() < 0) return "";
        double x = d.x()[d.peakIndex()], bx = d.backwardX(), ox = d.optimizerX();
        if (!Double.isNaN(ox) && x >= ox) return "in the optimizer step";
        if (!Double.isNaN(bx) && x >= bx) {
            double end = Double.isNaN(ox) ? d.x()[d.x().length - 1] : ox;
            return (x - bx) <= 0.1 * (end - bx) ? "as the backward pass begins" : "during the backward pass";
        }
        return "during the forward pass";
    }

    /** Bytes of one role at the peak. */
    static long atPeak(Evaluation e, TensorRole r) {
        TimelineData d = e.timeline();
        return d.peakIndex() < 0 ? 0 : d.role(r, d.peakIndex());
    }

    /** Whether a tensor is on the device at the peak of {@code e}. */
    static boolean liveAtPeak(Evaluation e, int t) {
        int p = e.timeline().peakIndex();
        if (p < 0) return false;
        for (int u : e.timeline().lifetimes().liveAt(p)) if (u == t) return true;
        return false;
    }

    /** Device time a tensor spends on the device (sum of its intervals), in the timeline's x units. */
    static double onDevice(Evaluation e, int t) {
        double[] iv = e.timeline().lifetimes().intervals(t);
        double sum = 0;
        for (int k = 0; k + 1 < iv.length; k += 2) sum += iv[k + 1] - iv[k];
        return sum;
    }

    /**
     * Tensors that the change keeps on the device much longer than before (a tenth of the iteration or more): what a
     * recomputation needs kept to rebuild its tensor. Largest first.
     */
    static List<Integer> keptLonger(Analysis a, Evaluation before, Evaluation after) {
        double[] x = after.timeline().x();
        double span = x[x.length - 1] - x[0];
        List<Integer> out = new ArrayList<>();
        for (int t = 0; t < a.schedule().tensorCount(); t++)
            if (onDevice(after, t) - onDevice(before, t) >= 0.1 * span) out.add(t);
        out.sort(Comparator.comparingLong((Integer t) -> a.schedule().tensor(t).bytes()).reversed());
        return out;
    }

    /** The sentence for a step that did not lower the peak: what is on the device at the peak instead. */
    static String whyNotLower(Analysis a, Evaluation before, Evaluation after, int tensor) {
        List<Integer> longer = keptLonger(a, before, after);
        longer.remove((Integer) tensor);
        if (!longer.isEmpty()) {
            int k = longer.get(0);
            return " To rebuild it, " + name(a, k) + " (" + size(a, k)
                    + ") must now stay on the device until backward, "
                    + "so the memory freed is taken again.";
        }
        if (liveAtPeak(after, tensor)) return " It is on the device again at the peak, so the peak cannot fall.";
        return " At the peak it was not on the device anyway: other tensors make up the peak.";
    }

    static String joinNames(Analysis a, List<Integer> ts, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(max, ts.size()); i++) b.append(i == 0 ? "" : ", ").append(name(a, ts.get(i)));
        if (ts.size() > max) b.append(" and ").append(ts.size() - max).append(" more");
        return b.toString();
    }

    static long totalBytes(Analysis a, List<Integer> ts) {
        long s = 0;
        for (int t : ts) s += a.schedule().tensor(t).bytes();
        return s;
    }

    /** Activations that backward reads, largest first. */
    static List<Integer> saved(Analysis a) {
        Schedule s = a.schedule();
        List<Integer> out = new ArrayList<>();
        for (TensorInfo t : s.tensors())
            if (t.kind() == TensorKind.ACTIVATION && a.savedForBackward(t.id()) && a.nodeOf(t.id()) >= 0
                    && !a.graph().nodes().get(a.nodeOf(t.id())).op().type().equals("Input")) out.add(t.id());
        out.sort(Comparator.comparingLong((Integer t) -> s.tensor(t).bytes()).reversed().thenComparing(t -> t));
        return out;
    }

    static String opOf(Analysis a, int t) {
        int n = a.nodeOf(t);
        return n < 0 ? "" : a.graph().nodes().get(n).op().type();
    }

    /** Applies a decision where it is valid; returns the plan unchanged otherwise. */
    static Plan tryWith(Plan p, int t, Decision d) {
        Plan q = p.with(t, d);
        return PlanValidator.problems(q).isEmpty() ? q : p;
    }

    static int[] ids(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    static String name(Analysis a, int t) {
        return a.schedule().tensor(t).name();
    }

    static String size(Analysis a, int t) {
        return Fmt.bytes(a.schedule().tensor(t).bytes());
    }

    static Step baseline(Analysis a, DeviceModel dev, String what, int focus) {
        Plan base = Plan.baseline(a.schedule());
        Evaluation e = eval(a, base, dev);
        long act = atPeak(e, TensorRole.ACTIVATION);
        List<Integer> saved = saved(a);
        return new Step("Where the memory goes",
                "Training keeps every activation that the backward pass reads (its saved tensors: " + saved.size()
                        + " here, " + Fmt.bytes(totalBytes(a, saved))
                                + ") from the forward pass until its backward step. "
                        + "The peak, " + Fmt.bytes(e.peakBytes()) + ", comes " + peakPhase(e) + "; activations are "
                        + Fmt.bytes(act) + " of it (orange). The highlighted tensor, " + name(a, focus) + " ("
                        + size(a, focus) + "), is " + what + "; its lifetime is shaded on the timeline and its layer "
                        + "outlined in the graph.",
                base, new int[]{focus}, e);
    }

    static List<Step> swapping(Analysis a, DeviceModel dev) {
        List<Integer> saved = saved(a);
        Plan base = Plan.baseline(a.schedule());
        int big = -1;
        for (int t : saved) if (tryWith(base, t, Decision.Swap.auto()) != base) {
            big = t;
            break;
        }
        List<Step> steps = new ArrayList<>();
        if (big < 0) return steps;
        steps.add(baseline(a, dev, big == saved.get(0) ? "the largest of them" : "the largest that can be swapped",
                big));
        Evaluation e0 = steps.get(0).eval();
        Plan one = base.with(big, Decision.Swap.auto());
        Evaluation e1 = eval(a, one, dev);
        String stall1 = e1.sim() != null && e1.sim().stallSeconds() > 0
                ? "The copies do not all overlap compute: compute waits " + Fmt.seconds(e1.sim().stallSeconds())
                + " for them (red stall markers)."
                : "The copies overlap compute: no step waits for them.";
        steps.add(new Step("Swap one tensor to the host",
                name(a, big) + " is now copied to host memory after its last forward use (\u25bc swap out, on the copy "
                        + "stream) and copied back before its backward step (\u25bc swap in); while it is away it "
                                + "sits in "
                        + "the host strip under the chart. " + effect(e0, e1)
                        + (e1.peakBytes() == e0.peakBytes() ? whyNotLower(a, e0, e1, big) : "")
                        + " Moved over the host link: " + Fmt.bytes(e1.bytesMoved()) + ". " + stall1,
                one, new int[]{big}, e1));
        Plan all = base;
        List<Integer> swapped = new ArrayList<>();
        for (int t : saved) {
            Plan q = tryWith(all, t, Decision.Swap.auto());
            if (q != all) swapped.add(t);
            all = q;
        }
        Evaluation e2 = eval(a, all, dev);
        String vsOne = e2.peakBytes() == e1.peakBytes()
                ? " Against swapping only " + name(a, big) + " this saves nothing more (the peak is "
                + Fmt.bytes(e2.peakBytes()) + " in both) and " + timeChange(e1, e2) + "."
                : " Against swapping only " + name(a, big) + ": " + lower(effect(e1, e2));
        String stall2 = e2.sim() != null && e2.sim().stallSeconds() > 0
                ? " The link cannot keep up with compute: stalls add " + Fmt.seconds(e2.sim().stallSeconds()) + "."
                : " The copies overlap compute: no stalls.";
        steps.add(new Step("Swap every saved activation (vDNN)",
                "Every activation that backward needs and can be swapped (" + swapped.size() + " tensors, "
                        + Fmt.bytes(totalBytes(a, swapped))
                                + ") now leaves the device after its last forward use: this "
                        + "is vDNN's \u201coffload all\u201d. Against the baseline: " + lower(effect(e0, e2)) + vsOne
                        + " Moved over the host link: " + Fmt.bytes(e2.bytesMoved()) + "." + stall2,
                all, ids(swapped), e2));
        return steps;
    }

    static String lower(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    static boolean cheapOp(String op) {
        return op.equals("ReLU") || op.equals("BatchNorm2d") || op.equals("GELU") || op.equals("Add");
    }

    static boolean expensiveOp(String op) {
        return op.equals("Conv2d") || op.equals("Linear") || op.equals("MatMul") || op.equals("Attention");
    }

    static List<Step> recomputation(Analysis a, DeviceModel dev) {
        List<Integer> saved = saved(a);
        Plan base = Plan.baseline(a.schedule());
        Evaluation e0 = eval(a, base, dev);
        // The cheap activation whose recomputation lowers the peak most (the first cheap one if none does).
        int cheap = -1;
        long best = -1;
        for (int t : saved) {
            if (!cheapOp(opOf(a, t)) || tryWith(base, t, Decision.RECOMPUTE) == base) continue;
            long gain = e0.peakBytes() - eval(a, base.with(t, Decision.RECOMPUTE), dev).peakBytes();
            if (gain > best) {
                best = gain;
                cheap = t;
            }
        }
        if (cheap < 0) for (int t : saved) if (tryWith(base, t, Decision.RECOMPUTE) != base) {
            cheap = t;
            break;
        }
        List<Step> steps = new ArrayList<>();
        if (cheap < 0) return steps;
        steps.add(baseline(a, dev, "cheap to compute again (a " + opOf(a, cheap) + " output)", cheap));
        Plan one = base.with(cheap, Decision.RECOMPUTE);
        Evaluation e1 = eval(a, one, dev);
        String layer = a.graph().nodes().get(a.nodeOf(cheap)).name();
        steps.add(new Step("Recompute one activation",
                name(a, cheap) + " (" + size(a, cheap)
                        + ") is freed after its last forward use and rebuilt just before "
                        + "backward needs it, by running " + (layer.equals(name(a, cheap)) ? "its layer" : layer)
                                + " again (\u25bc recompute marker). " + effect(e0, e1)
                        + (e1.peakBytes() >= e0.peakBytes() ? whyNotLower(a, e0, e1, cheap) : "")
                        + (e1.sim() != null && e1.sim().recomputeSeconds() > 0
                        ? " Recomputing takes " + Fmt.seconds(e1.sim().recomputeSeconds()) + "." : ""),
                one, new int[]{cheap}, e1));
        Plan ck = base;
        List<Integer> rec = new ArrayList<>();
        for (int t : saved) {
            if (expensiveOp(opOf(a, t))) continue; // checkpoints
            Plan q = tryWith(ck, t, Decision.RECOMPUTE);
            if (q != ck) rec.add(t);
            ck = q;
        }
        Evaluation e2 = eval(a, ck, dev);
        double peakPct = 100.0 * (e0.peakBytes() - e2.peakBytes()) / e0.peakBytes();
        double timePct = 100.0 * (e2.iterationSeconds() / e0.iterationSeconds() - 1);
        steps.add(new Step("Checkpoint the expensive layers",
                "Now only the outputs of the expensive layers (convolutions, linear layers) are kept as "
                        + "checkpoints; the "
                        + rec.size() + " cheaper activations between them (" + Fmt.bytes(totalBytes(a, rec)) + ") are "
                        + "recomputed in backward. Against the baseline: " + lower(effect(e0, e2))
                        + String.format(Locale.ROOT, " That is %.1f%% more time for %.1f%% less peak memory.", timePct,
                        peakPct)
                        + " Chen et al. space such checkpoints \u221aN apart for very deep networks.",
                ck, ids(rec), e2));
        return steps;
    }

    static List<Step> sharing(Analysis a, DeviceModel dev) {
        Schedule s = a.schedule();
        Plan base = Plan.baseline(s);
        List<Integer> inPlace = new ArrayList<>();
        Plan ip = base;
        for (Node n : a.graph().nodes()) {
            if (!n.mayRunInPlace() || s.forwardStep(n.index()) < 0) continue;
            int out = s.tensorOfValue(n.outputs()[0]), in = s.tensorOfValue(n.inputs()[0]);
            if (out < 0 || in < 0) continue;
            Plan q = tryWith(ip, out, new Decision.Share(in));
            if (q != ip) inPlace.add(out);
            ip = q;
        }
        List<Step> steps = new ArrayList<>();
        if (inPlace.isEmpty()) return steps;
        int first = inPlace.get(0);
        steps.add(baseline(a, dev, "the output of a " + opOf(a, first) + ", which may overwrite its input", first));
        Evaluation e0 = steps.get(0).eval(), e1 = eval(a, ip, dev);
        steps.add(new Step("Run element-wise ops in place",
                inPlace.size() + " ops (such as " + a.graph().nodes().get(a.nodeOf(first)).name() + ") now write their "
                        + "output over their input, because nothing reads that input afterwards: one buffer serves "
                                + "both "
                        + "tensors (" + Fmt.bytes(totalBytes(a, inPlace)) + " of outputs in all). " + effect(e0, e1),
                ip, ids(inPlace), e1));
        Plan co = ip;
        List<Integer> shared = new ArrayList<>();
        for (TensorInfo t : s.tensors()) {
            if (t.kind() != TensorKind.ACTIVATION_GRAD || !(co.decision(t.id()) instanceof Decision.Keep)) continue;
            try {
                Plan q = co.with(t.id(), PlanEdits.decisionFor(co, t.id(), Technique.SHARE));
                if (PlanValidator.problems(q).isEmpty()) {
                    co = q;
                    shared.add(t.id());
                }
            } catch (IllegalArgumentException e) {
                // no partner for this one
            }
        }
        Evaluation e2 = eval(a, co, dev);
        steps.add(new Step("Share buffers between gradients",
                shared.size() + " activation gradients of the backward pass (" + Fmt.bytes(totalBytes(a, shared))
                        + ") now reuse buffers of tensors that are already dead (co-sharing, as MXNet's memory planner "
                        + "does by reference counting): memory that would be freed and allocated again is handed on "
                        + "directly. Against in-place alone: " + lower(effect(e1, e2)) + " Against the baseline: "
                        + lower(effect(e0, e2)),
                co, ids(shared), e2));
        return steps;
    }

    static List<Step> compression(Analysis a, DeviceModel dev) {
        List<Integer> saved = saved(a);
        Plan base = Plan.baseline(a.schedule());
        Plan mask = base;
        List<Integer> masked = new ArrayList<>();
        for (int t : saved) {
            if (!opOf(a, t).equals("ReLU")) continue;
            Plan q = tryWith(mask, t, new Decision.Compress(Codec.MASK_1BIT, 1, false));
            if (q == mask) q = tryWith(mask, t, new Decision.Compress(Codec.SPARSE, PlanEdits.SPARSE_DENSITY, false));
            if (q != mask) masked.add(t);
            mask = q;
        }
        List<Step> steps = new ArrayList<>();
        if (masked.isEmpty()) return steps;
        int first = masked.get(0);
        steps.add(baseline(a, dev, "a ReLU output whose backward only needs to know which elements are positive",
                first));
        Evaluation e0 = steps.get(0).eval(), e1 = eval(a, mask, dev);
        long encoded = encodedBytes(a, mask, masked);
        int bits = 0;
        for (int t : masked) if (mask.decision(t) instanceof Decision.Compress c
                && c.codec() == Codec.MASK_1BIT) bits++;
        steps.add(new Step("Encode ReLU outputs (Gist)",
                masked.size() + " ReLU outputs (" + Fmt.bytes(totalBytes(a, masked)) + ") are kept between forward and "
                        + "backward in an encoded form of " + Fmt.bytes(encoded) + ": " + bits
                                + " as one bit per element "
                        + "(only the signs are needed)" + (masked.size() > bits ? ", " + (masked.size() - bits)
                        + " in a sparse form" : "")
                                + ". \u25bc encode after the last forward use, \u25bc decode before "
                        + "backward. Lossless. " + effect(e0, e1),
                mask, ids(masked), e1));
        Plan half = mask;
        List<Integer> fp16 = new ArrayList<>();
        for (int t : saved) {
            if (!(half.decision(t) instanceof Decision.Keep)) continue;
            Plan q = tryWith(half, t, new Decision.Compress(Codec.FP16, 1, false));
            if (q != half) fp16.add(t);
            half = q;
        }
        Evaluation e2 = eval(a, half, dev);
        steps.add(new Step("Store the rest in fp16 (lossy)",
                "The other " + fp16.size() + " saved activations (" + Fmt.bytes(totalBytes(a, fp16))
                        + ") are stored in "
                        + "fp16 between the passes, in " + Fmt.bytes(encodedBytes(a, half, fp16)) + ". Unlike the mask "
                        + "this rounds values, so training results change slightly; the table marks them "
                                + "\u201ccompress "
                        + "fp16\u201d" + (half.lossy() ? " and the plan is flagged lossy" : "") + ". Against the masks "
                        + "alone: " + lower(effect(e1, e2)) + " Against the baseline: " + lower(effect(e0, e2)),
                half, ids(fp16), e2));
        return steps;
    }

    /** Bytes the tensors take in their encoded form under the plan. */
    static long encodedBytes(Analysis a, Plan p, List<Integer> ts) {
        long s = 0;
        for (int t : ts) {
            TensorInfo ti = a.schedule().tensor(t);
            if (p.decision(t) instanceof Decision.Compress c) s += c.codec().encodedBytes(ti.shape().numel(),
                    c.density());
            else s += ti.bytes();
        }
        return s;
    }
}
