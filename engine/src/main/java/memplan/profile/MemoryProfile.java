package memplan.profile;

import memplan.ir.TensorRole;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The baseline memory profile of one training iteration: live bytes during each step split by role, the peak
 * and where it occurs, the largest tensors live at the peak, and a lower bound that no plan can go below.
 */
public record MemoryProfile(Schedule schedule, long parameters, long[] liveBytes, long[][] liveByRole, int peakStep,
                            long peakBytes, Map<TensorRole, Long> peakByRole, List<TensorInfo> largestAtPeak,
                            long lowerBound, int lowerBoundStep) {

    public static MemoryProfile of(Schedule s) {
        return of(s, Liveness.of(s));
    }

    public static MemoryProfile of(Schedule s, Liveness live) {
        int n = s.stepCount();
        int roles = TensorRole.values().length;
        long[][] byRole = new long[roles][n + 1];
        // Difference arrays: +bytes at the first step, -bytes after the last.
        for (TensorInfo t : s.tensors()) {
            int a = Math.max(0, live.first(t.id()));
            int b = Math.min(n - 1, live.last(t.id()));
            if (b < a) continue;
            byRole[t.role().ordinal()][a] += t.bytes();
            byRole[t.role().ordinal()][b + 1] -= t.bytes();
        }
        LiveByRole curves = LiveByRole.sum(byRole, n);
        int peak = curves.peakStep();
        List<TensorInfo> liveAtPeak = new ArrayList<>();
        for (TensorInfo t : s.tensors()) if (live.liveAt(t.id(), peak)) liveAtPeak.add(t);
        liveAtPeak.sort(Comparator.comparingLong(TensorInfo::bytes).reversed().thenComparing(TensorInfo::id));
        long lb = 0;
        int lbStep = 0;
        for (Step st : s.steps()) {
            long b = stepFootprint(s, st);
            if (b > lb) {
                lb = b;
                lbStep = st.index();
            }
        }
        return new MemoryProfile(s, s.graph().parameterCount(), curves.total(), curves.perRole(), peak,
                curves.peakBytes(), curves.peakByRole(),
                List.copyOf(liveAtPeak.subList(0, Math.min(10, liveAtPeak.size()))), lb, lbStep);
    }

    /** Bytes a step must hold at once: every tensor it reads or writes plus its workspace. */
    public static long stepFootprint(Schedule s, Step st) {
        Set<Integer> ts = new HashSet<>();
        for (int t : st.reads()) ts.add(t);
        for (int t : st.writes()) ts.add(t);
        if (st.workspace() >= 0) ts.add(st.workspace());
        long b = 0;
        for (int t : ts) b += s.tensor(t).bytes();
        return b;
    }

    /** The most bytes live during any step of a phase (0 if the phase has no step). */
    public long phasePeak(Phase phase) {
        long m = 0;
        for (Step st : schedule.steps()) if (st.phase() == phase) m = Math.max(m, liveBytes[st.index()]);
        return m;
    }

    /**
     * Bytes of the activations and aux tensors that backward steps read: what autograd keeps for backward
     * (parameters, buffers and the data batch apart), each tensor counted once.
     */
    public long savedBytes() {
        boolean[] seen = new boolean[schedule.tensorCount()];
        long b = 0;
        for (Step st : schedule.steps()) {
            if (st.phase() != Phase.BACKWARD) continue;
            for (int t : st.reads()) {
                TensorKind k = schedule.tensor(t).kind();
                if (seen[t] || k != TensorKind.ACTIVATION && k != TensorKind.AUX) continue;
                seen[t] = true;
                b += schedule.tensor(t).bytes();
            }
        }
        return b;
    }

    public Step peakStepInfo() {
        return schedule.step(peakStep);
    }
}
