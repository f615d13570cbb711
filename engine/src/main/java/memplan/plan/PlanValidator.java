package memplan.plan;

import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.ops.MaxPool2d;
import memplan.ops.ReLU;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks a plan against its training schedule and says, per tensor, why a decision is infeasible: in place where
 * the input is still needed, a codec that does not fit that tensor, a swap-in after its use, a recompute that reads
 * something no longer on the device.
 */
public final class PlanValidator {
    private PlanValidator() {
    }

    public static void validate(Plan plan) {
        List<PlanProblem> p = problems(plan);
        if (!p.isEmpty()) throw new InvalidPlanException(p);
    }

    public static List<PlanProblem> problems(Plan plan) {
        return problems(plan, TensorUses.cached(plan.schedule()));
    }

    public static List<PlanProblem> problems(Plan plan, TensorUses uses) {
        Schedule s = plan.schedule();
        List<PlanProblem> out = new ArrayList<>();
        boolean[] overwritten = new boolean[s.tensorCount()];
        boolean[] readByRecompute = new boolean[s.tensorCount()];
        for (int t = 0; t < s.tensorCount(); t++) {
            if (!(plan.decision(t) instanceof Decision.Recompute)) continue;
            Node n = producer(s, t);
            if (n != null) for (int in : n.inputs()) readByRecompute[s.tensorOfValue(in)] = true;
        }
        for (int t = 0; t < s.tensorCount(); t++)
            if (plan.decision(t) instanceof Decision.Share sh && sh.with() >= 0 && sh.with() < s.tensorCount())
                overwritten[sh.with()] = true;
        for (int t = 0; t < s.tensorCount(); t++) {
            Decision d = plan.decision(t);
            String why;
            if (d instanceof Decision.Swap sw) why = checkSwap(s, uses, t, sw);
            else if (d instanceof Decision.Recompute) why = checkRecompute(plan, uses, t,
                    overwritten, readByRecompute[t]);
            else if (d instanceof Decision.Share sh) why = checkShare(plan, uses, t, sh);
            else if (d instanceof Decision.Compress c) why = checkCompress(plan, uses, t, c);
            else why = null;
            if (why != null) out.add(new PlanProblem(t, s.tensor(t).name(), d.kind(), why));
        }
        return out;
    }

    private static boolean activation(TensorInfo ti) {
        return ti.kind() == TensorKind.ACTIVATION || ti.kind() == TensorKind.AUX;
    }

    /** The node whose forward step writes the tensor, or null. */
    static Node producer(Schedule s, int t) {
        TensorInfo ti = s.tensor(t);
        if (!activation(ti) || ti.value() < 0) return null;
        Value v = s.graph().value(ti.value());
        return v.producer() < 0 ? null : s.graph().nodes().get(v.producer());
    }

    private static String checkSwap(Schedule s, TensorUses u, int t, Decision.Swap sw) {
        if (!activation(s.tensor(t))) return "only activations can be swapped, this is " + s.tensor(t).role().label();
        Resolved r = resolveSwap(u, t, sw);
        if (r == null) return "it is not used after the forward pass, so it is freed anyway; nothing to swap";
        if (r.outAfter < u.firstWrite(t)) return "swap-out after step " + r.outAfter
                + " comes before it is written (step " + u.firstWrite(t) + ")";
        if (r.inBefore <= r.outAfter) return "swap-in before step " + r.inBefore
                + " is not after the swap-out at step " + r.outAfter;
        if (r.inBefore >= s.stepCount()) return "swap-in before step " + r.inBefore
                + " is past the end of the iteration";
        if (u.usedBetween(t, r.outAfter, r.inBefore))
            return "it is used at step " + u.firstUseAtOrAfter(t, r.outAfter + 1)
                    + " while swapped out (out after " + r.outAfter
                    + ", in before " + r.inBefore + "): the swap-in comes after its use";
        if (u.firstUseAtOrAfter(t, r.inBefore) < 0) return "it is not used after the swap-in at step " + r.inBefore;
        if (r.prefetchAfter < r.outAfter || r.prefetchAfter >= r.inBefore)
            return "prefetch after step " + r.prefetchAfter + " must lie between the swap-out (" + r.outAfter
                    + ") and the use (" + r.inBefore + ")";
        return null;
    }

    /** Swap steps with the automatic choices filled in where they are -1 (prefetch stays -1 if automatic). */
    record Resolved(int outAfter, int inBefore, int prefetchAfter) {
    }

    static Resolved resolveSwap(TensorUses u, int t, Decision.Swap sw) {
        int out = sw.outAfter() >= 0 ? sw.outAfter() : u.lastForwardUse(t);
        int in = sw.inBefore() >= 0 ? sw.inBefore() : u.firstBackwardUse(t);
        if (out < 0 || in < 0) return null;
        int pre = sw.prefetchAfter() >= 0 ? sw.prefetchAfter() : out;
        return new Resolved(out, in, pre);
    }

    private static String checkRecompute(Plan plan, TensorUses u, int t, boolean[] overwritten,
            boolean readByRecompute) {
        Schedule s = plan.schedule();
        Node n = producer(s, t);
        if (n == null || s.forwardStep(n.index()) < 0)
            return "only activations written by a forward op can be recomputed";
        if (u.firstBackwardUse(t) < 0 && !readByRecompute)
            return "neither the backward pass nor another recompute reads it, so it is freed anyway; nothing to "
                    + "recompute";
        if (s.tensor(t).value() == s.graph().nodes().get(n.index()).outputs()[0] && s.lossTensor() == t)
            return "the loss cannot be recomputed";
        if (plan.decision(t) instanceof Decision.Recompute r && r.explicit()) {
            int prev = s.forwardStep(n.index());
            for (int step : r.at()) {
                if (step >= s.stepCount()) return "rebuild before step " + step + " is past the end of the iteration";
                if (step <= prev)
                    return "rebuild before step " + step + " is not after step " + prev
                            + " (its forward step or the rebuild before)";
                prev = step;
            }
        }
        for (int in : n.inputs()) {
            int ti = s.tensorOfValue(in);
            Decision d = plan.decision(ti);
            if (d instanceof Decision.Swap) return "recomputing it reads '" + s.tensor(ti).name()
                    + "', which is swapped out then";
            if (d instanceof Decision.Compress) return "recomputing it reads '" + s.tensor(ti).name()
                    + "', which is only kept compressed";
            if (overwritten[ti]) return "recomputing it reads '" + s.tensor(ti).name()
                    + "', whose memory another tensor reuses";
        }
        return null;
    }

    private static String checkShare(Plan plan, TensorUses u, int t, Decision.Share sh) {
        Schedule s = plan.schedule();
        int w = sh.with();
        if (w < 0 || w >= s.tensorCount()) return "shares with tensor " + w + ", which does not exist";
        if (w == t) return "cannot share with itself";
        TensorInfo ti = s.tensor(t), wi = s.tensor(w);
        if (!reusable(ti)) return "only activations, their gradients and workspaces can share memory, this is "
                + ti.role().label();
        if (!reusable(wi)) return "'" + wi.name() + "' is " + wi.role().label() + " and cannot give its memory away";
        if (wi.bytes() < ti.bytes()) return "'" + wi.name() + "' (" + wi.bytes()
                + " B) is smaller than this tensor (" + ti.bytes() + " B)";
        Decision wd = plan.decision(w);
        if (!(wd instanceof Decision.Keep || wd instanceof Decision.Share))
            return "'" + wi.name() + "' is planned as " + wd.kind() + ", so its buffer is not available to share";
        int start = u.firstWrite(t);
        int wEnd = u.lastUse(w);
        if (start < 0) return "it is never written";
        if (wEnd < start) return null; // co-share: the other tensor is dead before this one is born
        if (wEnd == start) {
            Step st = s.step(start);
            if (st.node() >= 0) {
                Node n = s.graph().nodes().get(st.node());
                if (n.mayRunInPlace()) {
                    if (st.phase() == Phase.FORWARD && s.tensorOfValue(n.outputs()[0]) == t
                            && s.tensorOfValue(n.inputs()[0]) == w) return null;
                    if (st.phase() == Phase.BACKWARD && s.gradOfValue(n.inputs()[0]) == t
                            && s.gradOfValue(n.outputs()[0]) == w
                            && u.firstWrite(t) == start) return null;
                }
                if (n.mayRunInPlace())
                    return "in place at step " + start
                            + " must write output 0 over input 0 (or its gradient over the output's gradient)";
                if (n.op().mayRunInPlace())
                    return n.op().type() + " cannot run in place here: its output " + n.outShapes().get(0)
                            + " does not have the shape of its input " + n.inShapes().get(0);
                return n.op().type() + " cannot run in place (its backward needs its input)";
            }
        }
        return "'" + wi.name() + "' is still needed at step " + wEnd
                + ", after this tensor is written at step " + start;
    }

    private static boolean reusable(TensorInfo t) {
        return t.kind() == TensorKind.ACTIVATION || t.kind() == TensorKind.AUX || t.kind() == TensorKind.ACTIVATION_GRAD
                || t.kind() == TensorKind.WORKSPACE;
    }

    private static String checkCompress(Plan plan, TensorUses u, int t, Decision.Compress c) {
        Schedule s = plan.schedule();
        TensorInfo ti = s.tensor(t);
        if (c.codec() == null) return "no codec given";
        if (ti.kind() != TensorKind.ACTIVATION || !ti.dtype().floating)
            return "only floating activations can be compressed";
        if (u.firstBackwardUse(t) < 0 || u.lastForwardUse(t) < 0)
            return "it is not kept from the forward to the backward pass";
        Node n = producer(s, t);
        // A recompute that reads this tensor needs its exact values, which only exist in encoded form.
        for (int other = 0; other < s.tensorCount(); other++) {
            if (!(plan.decision(other) instanceof Decision.Recompute)) continue;
            Node p = producer(s, other);
            if (p == null) continue;
            for (int in : p.inputs()) if (s.tensorOfValue(in) == t)
                return "recomputing '" + s.tensor(other).name() + "' needs its exact values";
        }
        if (c.codec() == Codec.MASK_1BIT || c.codec() == Codec.SPARSE) {
            if (n == null || !(n.op() instanceof ReLU)) return c.codec().jsonName() + " applies to ReLU outputs only";
            if (c.codec() == Codec.SPARSE && !(c.density() > 0 && c.density() <= 1))
                return "sparse density must be in (0, 1], got " + c.density();
            if (c.codec() == Codec.MASK_1BIT) {
                for (int st : u.uses(t)) {
                    Step step = s.step(st);
                    if (step.phase() != Phase.BACKWARD) continue;
                    Node reader = s.graph().nodes().get(step.node());
                    boolean ownBackward = reader.index() == n.index();
                    boolean poolInput = reader.op() instanceof MaxPool2d && s.tensorOfValue(reader.inputs()[0]) == t;
                    if (!ownBackward && !poolInput)
                        return "the backward of '" + reader.name() + "' (" + reader.op().type()
                                + ") needs its values, not only their signs";
                }
            }
        }
        return null;
    }
}
