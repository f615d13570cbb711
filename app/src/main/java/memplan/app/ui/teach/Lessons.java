package memplan.app.ui.teach;

import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.PlanEdits;
import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The steps of each lesson, built for the open model: each step is a plan, the tensors to point at, and a short text.
 * Pure; the texts name the model's own tensors and sizes.
 */
public final class Lessons {
    private Lessons() {
    }

    /** One step of a lesson. */
    public record Step(String title, String text, Plan plan, int[] focus) {
    }

    public static List<Step> build(Lesson lesson, Analysis a) {
        return switch (lesson) {
            case SWAPPING -> swapping(a);
            case RECOMPUTATION -> recomputation(a);
            case SHARING -> sharing(a);
            case COMPRESSION -> compression(a);
        };
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

    static Step baseline(Analysis a, String what, int focus) {
        Plan base = Plan.baseline(a.schedule());
        return new Step("Where the memory goes",
                "Training keeps every activation that the backward pass reads (its saved tensors) from the forward pass "
                        + "until its backward step, so the orange area grows through the forward pass and the peak comes as "
                        + "backward begins. The highlighted tensor, " + name(a, focus) + " (" + size(a, focus) + "), is " + what
                        + "; its lifetime is shaded on the timeline and its layer outlined in the graph.",
                base, new int[]{focus});
    }

    static List<Step> swapping(Analysis a) {
        List<Integer> saved = saved(a);
        Plan base = Plan.baseline(a.schedule());
        int big = -1;
        for (int t : saved) if (tryWith(base, t, Decision.Swap.auto()) != base) {
            big = t;
            break;
        }
        List<Step> steps = new ArrayList<>();
        if (big < 0) return steps;
        steps.add(baseline(a, "the largest of them", big));
        Plan one = base.with(big, Decision.Swap.auto());
        steps.add(new Step("Swap one tensor to the host",
                name(a, big) + " is now copied to host memory after its last forward use (\u25bc swap out, on the copy stream) "
                        + "and copied back before its backward step (\u25bc swap in). While it is away it sits in the host strip under "
                        + "the chart, and its device lifetime is split in two. Saved: up to " + size(a, big)
                        + " at the peak. Cost: " + size(a, big) + " each way over the host link; the copy overlaps compute, "
                        + "and a red stall marker appears only when it cannot.",
                one, new int[]{big}));
        Plan all = base;
        List<Integer> swapped = new ArrayList<>();
        for (int t : saved) {
            Plan q = tryWith(all, t, Decision.Swap.auto());
            if (q != all) swapped.add(t);
            all = q;
        }
        steps.add(new Step("Swap every saved activation (vDNN)",
                "Every activation that backward needs (" + swapped.size() + " tensors) now leaves the device after its last "
                        + "forward use: this is vDNN's \u201coffload all\u201d. The activation area shrinks to what the current "
                        + "layer needs, the host strip fills up, and the summary shows the bytes moved. Where the link cannot "
                        + "keep up with compute, stalls add time.",
                all, ids(swapped)));
        return steps;
    }

    static List<Step> recomputation(Analysis a) {
        List<Integer> saved = saved(a);
        Plan base = Plan.baseline(a.schedule());
        int cheap = -1;
        for (int t : saved) {
            String op = opOf(a, t);
            if ((op.equals("ReLU") || op.equals("BatchNorm2d") || op.equals("GELU")) && tryWith(base, t, Decision.RECOMPUTE) != base) {
                cheap = t;
                break;
            }
        }
        if (cheap < 0) for (int t : saved) if (tryWith(base, t, Decision.RECOMPUTE) != base) {
            cheap = t;
            break;
        }
        List<Step> steps = new ArrayList<>();
        if (cheap < 0) return steps;
        steps.add(baseline(a, "cheap to compute again (a " + opOf(a, cheap) + " output)", cheap));
        Plan one = base.with(cheap, Decision.RECOMPUTE);
        steps.add(new Step("Recompute one activation",
                name(a, cheap) + " is freed after its last forward use and rebuilt from its input just before backward needs it "
                        + "(\u25bc recompute marker). Saved: " + size(a, cheap) + " between the two. Cost: one more forward of "
                        + a.graph().nodes().get(a.nodeOf(cheap)).name() + ", shown as overhead in the summary.",
                one, new int[]{cheap}));
        Plan ck = base;
        List<Integer> rec = new ArrayList<>();
        for (int t : saved) {
            String op = opOf(a, t);
            if (op.equals("Conv2d") || op.equals("Linear") || op.equals("MatMul") || op.equals("Attention")) continue; // checkpoints
            Plan q = tryWith(ck, t, Decision.RECOMPUTE);
            if (q != ck) rec.add(t);
            ck = q;
        }
        steps.add(new Step("Checkpoint the expensive layers",
                "Now only the outputs of the expensive layers (convolutions, linear layers) are kept as checkpoints; the "
                        + rec.size() + " cheap activations between them are recomputed in backward. The peak drops further and "
                        + "the extra time stays small because recomputing element-wise ops costs little. Chen et al. take this "
                        + "to \u221aN checkpoints for very deep networks.",
                ck, ids(rec)));
        return steps;
    }

    static List<Step> sharing(Analysis a) {
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
        steps.add(baseline(a, "the output of a " + opOf(a, first) + ", which may overwrite its input", first));
        steps.add(new Step("Run element-wise ops in place",
                inPlace.size() + " ops (such as " + a.graph().nodes().get(a.nodeOf(first)).name() + ") now write their output over "
                        + "their input, because nothing reads that input afterwards. One buffer serves both tensors, so each "
                        + "saves its output's size while both would have been alive, at no cost in time.",
                ip, ids(inPlace)));
        Plan co = ip;
        List<Integer> shared = new ArrayList<>();
        for (TensorInfo t : s.tensors()) {
            if (t.kind() != TensorKind.ACTIVATION_GRAD || !(co.decision(t.id()) instanceof Decision.Keep)) continue;
            try {
                Plan q = co.with(t.id(), PlanEdits.decisionFor(co, t.id(), memplan.app.ui.table.Technique.SHARE));
                if (PlanValidator.problems(q).isEmpty()) {
                    co = q;
                    shared.add(t.id());
                }
            } catch (IllegalArgumentException e) {
                // no partner for this one
            }
        }
        steps.add(new Step("Share buffers between gradients",
                shared.size() + " activation gradients of the backward pass now reuse buffers of tensors that are already dead "
                        + "(co-sharing, as MXNet's memory planner does by reference counting). Memory that would be freed and "
                        + "allocated again is handed on directly; the peak can only go down and time does not change.",
                co, ids(shared)));
        return steps;
    }

    static List<Step> compression(Analysis a) {
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
        steps.add(baseline(a, "a ReLU output whose backward only needs to know which elements are positive", first));
        steps.add(new Step("Encode ReLU outputs (Gist)",
                masked.size() + " ReLU outputs are kept between forward and backward in an encoded form: one bit per element "
                        + "where only the signs are needed (32\u00d7 smaller than fp32), or a sparse form otherwise. "
                        + "\u25bc encode after the last forward use, \u25bc decode before backward. Lossless; the cost is two "
                        + "cheap passes over the tensor.",
                mask, ids(masked)));
        Plan half = mask;
        List<Integer> fp16 = new ArrayList<>();
        for (int t : saved) {
            if (!(half.decision(t) instanceof Decision.Keep)) continue;
            Plan q = tryWith(half, t, new Decision.Compress(Codec.FP16, 1, false));
            if (q != half) fp16.add(t);
            half = q;
        }
        steps.add(new Step("Store the rest in fp16 (lossy)",
                "The other " + fp16.size() + " saved activations are stored in fp16 between the passes: half the bytes. Unlike "
                        + "the mask this rounds values, so training results change slightly; the table marks them "
                        + "\u201ccompress fp16\u201d and the plan is flagged lossy.",
                half, ids(fp16)));
        return steps;
    }
}
