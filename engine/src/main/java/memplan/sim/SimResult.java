package memplan.sim;

import memplan.ir.TensorRole;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.train.Phase;
import memplan.train.Schedule;

import java.util.List;
import java.util.Map;

/**
 * What the simulator predicts for a plan: peak device bytes and where, the breakdown at the peak, iteration time
 * against the baseline's, bytes moved over the host link, time lost to stalls, time spent recomputing, and the
 * timeline itself.
 */
public record SimResult(ExecutionSchedule execution, long peakBytes, int peakPosition, Map<TensorRole, Long> peakByRole,
                        double iterationSeconds, double baselineSeconds, long bytesToHost, long bytesFromHost,
                        double stallSeconds, double recomputeSeconds, Timeline timeline) {

    /** Added time over the baseline, as a fraction (0.25 = 25% slower). */
    public double overhead() {
        return baselineSeconds == 0 ? 0 : iterationSeconds / baselineSeconds - 1;
    }

    public long bytesMoved() {
        return bytesToHost + bytesFromHost;
    }

    /** The most bytes live while each phase's steps (and what the plan inserts before them) run, by phase ordinal. */
    public long[] phasePeaks() {
        long[] p = new long[Phase.values().length];
        Schedule s = execution.schedule();
        // what the plan inserts (a recompute, a swap-in) runs for the compute that follows it
        List<Instr> in = execution.instrs();
        Phase cur = Phase.OPTIMIZER;
        for (int i = in.size() - 1; i >= 0; i--) {
            Instr x = in.get(i);
            if (x.kind() == InstrKind.COMPUTE) cur = s.step(x.step()).phase();
            p[cur.ordinal()] = Math.max(p[cur.ordinal()], timeline.live(x.pos()));
        }
        return p;
    }
}
