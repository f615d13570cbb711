package memplan.planner;

import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;

import java.util.function.IntFunction;

/**
 * The largest batch whose plan fits a memory budget with a given planner (the headline figure of vDNN and
 * Capuchin): doubling until a batch does not fit, then binary search between the last two.
 */
public final class MaxBatch {
    private MaxBatch() {
    }

    /**
     * {@code batch} 0 when even batch 1 does not fit; {@code plan} and {@code result} are those of that batch;
     * {@code probes} is how many batch sizes were planned.
     */
    public record Result(int batch, Plan plan, SimResult result, int probes) {
    }

    public static Result search(IntFunction<Schedule> scheduleAt, Planner planner, long budgetBytes,
            DeviceModel device, int limit) {
        if (budgetBytes <= 0) throw new IllegalArgumentException("max batch needs a positive budget in bytes");
        int[] count = {0};
        Result lo = tryBatch(scheduleAt, planner, budgetBytes, device, 1, count);
        if (lo == null) return new Result(0, null, null, count[0]);
        int hi = -1;
        int b = 1;
        while (b < limit) {
            int next = (int) Math.min(limit, 2L * b);
            Result r = tryBatch(scheduleAt, planner, budgetBytes, device, next, count);
            if (r == null) {
                hi = next;
                break;
            }
            lo = r;
            b = next;
        }
        if (hi < 0) return new Result(lo.batch(), lo.plan(), lo.result(), count[0]);
        int good = lo.batch();
        while (hi - good > 1) {
            int mid = good + (hi - good) / 2;
            Result r = tryBatch(scheduleAt, planner, budgetBytes, device, mid, count);
            if (r == null) hi = mid;
            else {
                good = mid;
                lo = r;
            }
        }
        return new Result(lo.batch(), lo.plan(), lo.result(), count[0]);
    }

    private static Result tryBatch(IntFunction<Schedule> scheduleAt, Planner planner, long budget, DeviceModel device,
            int batch, int[] count) {
        count[0]++;
        Schedule s = scheduleAt.apply(batch);
        try {
            Plan p = planner.plan(s, budget, device);
            return new Result(batch, p, Simulator.simulate(p, device), 0);
        } catch (InfeasibleBudgetException e) {
            return null;
        }
    }
}
