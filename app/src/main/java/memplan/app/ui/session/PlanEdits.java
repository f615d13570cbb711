package memplan.app.ui.session;

import memplan.app.ui.table.Technique;
import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Turns a technique picked in the table into a decision, and a decision back into the table's technique. */
public final class PlanEdits {
    /**
     * Planned share of non-zeros for the sparse codec when the user picks it by hand (ReLU outputs are about half
     * zero).
     */
    public static final double SPARSE_DENSITY = 0.5;

    private PlanEdits() {
    }

    public static Technique techniqueOf(Decision d) {
        if (d instanceof Decision.Swap) return Technique.SWAP;
        if (d instanceof Decision.Recompute) return Technique.RECOMPUTE;
        if (d instanceof Decision.Share) return Technique.SHARE;
        if (d instanceof Decision.Compress c) return Technique.compress(c.codec());
        return Technique.KEEP;
    }

    /** Short code for graph badges: 0 keep, 1 swap, 2 recompute, 3 share, 4 compress. */
    public static int badge(Decision d) {
        if (d instanceof Decision.Swap) return 1;
        if (d instanceof Decision.Recompute) return 2;
        if (d instanceof Decision.Share) return 3;
        if (d instanceof Decision.Compress) return 4;
        return 0;
    }

    /**
     * The decision for a technique; for "share" the best partner: the input it can overwrite in place, else the
     * smallest dead tensor that is large enough. Throws IllegalArgumentException with the reason when there is none.
     */
    public static Decision decisionFor(Plan plan, int tensor, Technique t) {
        switch (t) {
            case KEEP: return Decision.KEEP;
            case SWAP: return Decision.Swap.auto();
            case RECOMPUTE: return Decision.RECOMPUTE;
            case SHARE: return new Decision.Share(sharePartner(plan, tensor));
            default: return new Decision.Compress(t.codec, t.codec == Codec.SPARSE ? SPARSE_DENSITY : 1.0, false);
        }
    }

    static int sharePartner(Plan plan, int tensor) {
        Schedule s = plan.schedule();
        TensorUses u = TensorUses.of(s);
        TensorInfo ti = s.tensor(tensor);
        int start = u.firstWrite(tensor);
        if (start < 0) throw new IllegalArgumentException("'" + ti.name()
                + "' is never written, so it has no memory to share");
        // In place: the step writing this tensor overwrites its input 0 (or the gradient of its output).
        Step st = s.step(start);
        if (st.node() >= 0) {
            Node n = s.graph().nodes().get(st.node());
            int cand = -1;
            if (n.mayRunInPlace()) {
                cand = s.tensorOfValue(n.inputs()[0]);
                if (st.phase() == Phase.BACKWARD) cand = s.gradOfValue(n.outputs()[0]);
            }
            if (cand >= 0 && cand != tensor && valid(plan.with(tensor, new Decision.Share(cand)), tensor)) return cand;
        }
        // Co-share: the smallest tensor, dead before this one is written, large enough and not yet given away.
        boolean[] taken = new boolean[s.tensorCount()];
        for (int t = 0; t < s.tensorCount(); t++) if (plan.decision(t) instanceof Decision.Share sh
                && sh.with() >= 0) taken[sh.with()] = true;
        List<Integer> cands = new ArrayList<>();
        for (int w = 0; w < s.tensorCount(); w++) {
            if (w == tensor || taken[w]) continue;
            TensorInfo wi = s.tensor(w);
            if (wi.bytes() < ti.bytes() || u.lastUse(w) < 0 || u.lastUse(w) >= start) continue;
            TensorKind k = wi.kind();
            if (k != TensorKind.ACTIVATION && k != TensorKind.AUX && k != TensorKind.ACTIVATION_GRAD
                    && k != TensorKind.WORKSPACE) continue;
            cands.add(w);
        }
        cands.sort(Comparator.comparingLong((Integer w) -> s.tensor(w).bytes()).thenComparing(w -> w));
        int best = -1;
        for (int k = 0; k < Math.min(cands.size(), 20) && best < 0; k++)
            if (valid(plan.with(tensor, new Decision.Share(cands.get(k))), tensor)) best = cands.get(k);
        if (best < 0)
            throw new IllegalArgumentException("'" + ti.name()
                    + "' has no tensor to share memory with: none that is large enough is "
                    + "dead before it is written, and its op cannot run in place");
        return best;
    }

    private static boolean valid(Plan p, int tensor) {
        for (PlanProblem pr : PlanValidator.problems(p)) if (pr.tensor() == tensor) return false;
        return true;
    }

    /** Problems of a plan concerning one tensor, as one sentence, or null. */
    public static String problemFor(Plan p, int tensor) {
        List<PlanProblem> ps = PlanValidator.problems(p);
        for (PlanProblem pr : ps) if (pr.tensor() == tensor) return pr.toString();
        return ps.isEmpty() ? null : ps.get(0).toString();
    }
}
