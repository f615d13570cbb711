package memplan.planner;

import memplan.graph.Node;
import memplan.graph.Value;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanProblem;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What planners share about one schedule on one device: tensor uses, step times, recompute costs, and a simulator
 * that records the least peak seen (for {@link InfeasibleBudgetException}) and how many simulations ran.
 */
public final class PlanContext {
    public final Schedule schedule;
    public final DeviceModel device;
    public final TensorUses uses;
    private final double[] prefix;
    private final double[] recompute;
    private long leastPeak = Long.MAX_VALUE;
    private int simulations;
    private SimResult baseline;
    private final Map<Plan, Score> scores;

    /**
     * A simulated plan's peak and time: all that choosing among plans needs. Planners judge the same plan more than
     * once (a greedy's result again among the candidates, the winner again by the caller), and a simulation costs
     * O(length of the schedule), so the scores of recently simulated plans are kept.
     */
    record Score(long peakBytes, double iterationSeconds) {
        static Score of(SimResult r) {
            return new Score(r.peakBytes(), r.iterationSeconds());
        }
    }

    public PlanContext(Schedule schedule, DeviceModel device) {
        this.schedule = schedule;
        this.device = device;
        this.uses = TensorUses.of(schedule);
        // A kept plan holds one decision per tensor: about 16 MiB of them at most.
        int keep = Math.max(16, Math.min(512, 4_000_000 / Math.max(1, schedule.tensorCount())));
        scores = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Plan, Score> eldest) {
                return size() > keep;
            }
        };
        prefix = new double[schedule.stepCount() + 1];
        for (int i = 0; i < schedule.stepCount(); i++) prefix[i + 1] = prefix[i] + device.stepSeconds(schedule,
                schedule.step(i));
        recompute = new double[schedule.graph().nodes().size()];
        for (Node n : schedule.graph().nodes()) recompute[n.index()] = schedule.forwardStep(n.index()) < 0 ? 0
                : device.recomputeSeconds(n, recomputeBytes(n));
    }

    /** Simulates a plan (which must be valid), remembering the least peak. */
    public SimResult simulate(Plan p) {
        SimResult r = Simulator.simulate(p, device);
        simulations++;
        leastPeak = Math.min(leastPeak, r.peakBytes());
        scores.put(p, Score.of(r));
        return r;
    }

    /** The peak and time of a plan (which must be valid): simulated unless it was simulated recently. */
    Score score(Plan p) {
        Score s = scores.get(p);
        if (s != null) return s;
        return Score.of(simulate(p));
    }

    public SimResult baseline() {
        if (baseline == null) baseline = simulate(Plan.baseline(schedule));
        return baseline;
    }

    public int simulations() {
        return simulations;
    }

    public long leastPeak() {
        return leastPeak;
    }

    /** Returns the plan if its simulated peak is within the budget, else throws with the least peak seen. */
    public Plan requireFits(Plan p, long budgetBytes, String planner) {
        Score r = score(p);
        if (budgetBytes > MIN_BUDGET && r.peakBytes() > budgetBytes)
            throw new InfeasibleBudgetException(planner, budgetBytes, leastPeak);
        return p;
    }

    private static final long MIN_BUDGET = Planner.MIN_PEAK;

    /** Seconds of the steps strictly between two steps. */
    public double secondsBetween(int afterStep, int beforeStep) {
        if (beforeStep <= afterStep + 1) return 0;
        return prefix[beforeStep] - prefix[afterStep + 1];
    }

    public double stepSeconds(int step) {
        return prefix[step + 1] - prefix[step];
    }

    public double baselineSeconds() {
        return prefix[prefix.length - 1];
    }

    /** Time to re-run a node's forward pass, as the lowering will bind it. */
    public double recomputeSeconds(Node n) {
        return recompute[n.index()];
    }

    private long recomputeBytes(Node n) {
        Schedule s = schedule;
        long b = 0;
        for (int in : n.inputs()) b += s.tensor(s.tensorOfValue(in)).bytes();
        for (int p : n.params()) b += s.tensor(s.tensorOfValue(p)).bytes();
        for (int o : n.outputs()) b += s.tensor(s.tensorOfValue(o)).bytes();
        for (int a : n.aux()) b += s.tensor(s.tensorOfValue(a)).bytes();
        int ws = s.step(s.forwardStep(n.index())).workspace();
        if (ws >= 0) b += s.tensor(ws).bytes();
        return b;
    }

    public static boolean activation(TensorInfo t) {
        return t.kind() == TensorKind.ACTIVATION || t.kind() == TensorKind.AUX;
    }

    /** The node whose forward step writes an activation, or null. */
    public Node producer(int t) {
        TensorInfo ti = schedule.tensor(t);
        if (!activation(ti) || ti.value() < 0) return null;
        Value v = schedule.graph().value(ti.value());
        if (v.producer() < 0) return null;
        Node n = schedule.graph().nodes().get(v.producer());
        return schedule.forwardStep(n.index()) < 0 ? null : n;
    }

    /** An activation written in the forward pass and read again in the backward pass (what planners can free). */
    public boolean saved(int t) {
        TensorInfo ti = schedule.tensor(t);
        return activation(ti) && uses.lastForwardUse(t) >= 0
                && uses.firstBackwardUse(t) > uses.lastForwardUse(t) && producer(t) != null;
    }

    /**
     * The schedule step a simulated position belongs to, and whether the position is that step's compute
     * instruction (otherwise it lies after it: swaps, recomputes, codecs between steps).
     */
    public int[] stepAt(ExecutionSchedule es, int pos) {
        List<Instr> in = es.instrs();
        for (int p = pos; p >= 0; p--)
            if (in.get(p).kind() == InstrKind.COMPUTE) return new int[]{in.get(p).step(), p == pos ? 1 : 0};
        return new int[]{-1, 0};
    }

    /** Whether a kept tensor could be freed at a position: it is in its idle gap between forward and backward. */
    public boolean idleAt(int t, int[] stepAt) {
        int k = stepAt[0];
        int lf = uses.lastForwardUse(t), fb = uses.firstBackwardUse(t);
        return stepAt[1] == 1 ? lf < k && k < fb : lf <= k && k < fb;
    }

    /** Reverts invalid decisions to keep until the plan validates (reverting never creates new problems). */
    public Plan repair(Plan p) {
        for (int round = 0; round < 100; round++) {
            List<PlanProblem> probs = PlanValidator.problems(p, uses);
            if (probs.isEmpty()) return p;
            Decision[] d = p.decisions();
            for (PlanProblem pr : probs) d[pr.tensor()] = Decision.KEEP;
            p = new Plan(schedule, d, p.planner());
        }
        return p;
    }
}
