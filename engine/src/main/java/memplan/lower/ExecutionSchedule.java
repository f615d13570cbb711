package memplan.lower;

import memplan.plan.Plan;
import memplan.train.Schedule;

import java.util.List;

/**
 * A plan applied to a schedule: the instructions in program order (swaps, recomputes, codecs inserted) and the
 * device buffers they use. The simulator and the executor consume the same object, so their memory agrees.
 * {@code hostBytes[b]} is how much host memory buffer b's swapped copy needs (0 if never swapped).
 */
public record ExecutionSchedule(Schedule schedule, Plan plan, List<Instr> instrs,
        List<Buffer> buffers, long[] hostBytes) {

    public int size() {
        return instrs.size();
    }

    /** Live device bytes during each instruction (the sum of buffers occupied then). */
    public long[] liveBytes() {
        long[] diff = new long[instrs.size() + 1];
        for (Buffer b : buffers)
            for (int i = 0; i < b.segStart().length; i++) {
                diff[b.segStart()[i]] += b.bytes();
                diff[b.segEnd()[i] + 1] -= b.bytes();
            }
        long[] live = new long[instrs.size()];
        long acc = 0;
        for (int i = 0; i < live.length; i++) live[i] = acc += diff[i];
        return live;
    }

    public long peakBytes() {
        long p = 0;
        for (long v : liveBytes()) p = Math.max(p, v);
        return p;
    }
}
