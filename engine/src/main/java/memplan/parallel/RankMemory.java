package memplan.parallel;

import memplan.ir.TensorRole;
import memplan.train.Phase;
import memplan.train.Step;

import java.util.List;
import java.util.Map;

/**
 * The memory of one rank of a parallel job over the iteration of its micro-batch: live bytes during each step of
 * the schedule (all roles and per role), the peak and its step, the model states it keeps at rest (parameters,
 * gradients kept for the optimizer, optimizer state), the buffers its engine adds, and the bytes moved to the host.
 * {@code dpRank} and {@code stage} say which rank it is; tensor-parallel ranks of a stage are alike.
 */
public record RankMemory(int dpRank, int stage, long[] liveBytes, long[][] liveByRole, int peakStep, long peakBytes,
                         Map<TensorRole, Long> peakByRole, long modelStateBytes, long offloadedBytes,
                         List<CommBuffer> buffers, long[] phasePeaks) {

    /** The most bytes live during any step of a phase of this rank's schedule. */
    public long phasePeak(Phase phase) {
        return phasePeaks[phase.ordinal()];
    }

    /** The global rank of this rank's first tensor-parallel device (stages outermost, then data, then tensor). */
    public int globalRank(Layout l) {
        return (stage * l.dp() + dpRank) * l.tp();
    }

    static long[] phasePeaks(List<Step> steps, long[] live) {
        long[] p = new long[Phase.values().length];
        for (Step st : steps) p[st.phase().ordinal()] = Math.max(p[st.phase().ordinal()], live[st.index()]);
        return p;
    }
}
