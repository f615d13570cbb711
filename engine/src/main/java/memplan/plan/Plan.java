package memplan.plan;

import memplan.train.Schedule;

import java.util.Arrays;

/** One decision per tensor of a schedule, by dense tensor id. Immutable: {@link #with} returns a new plan. */
public final class Plan {
    private final Schedule schedule;
    private final Decision[] decisions;
    private final String planner;

    public Plan(Schedule schedule, Decision[] decisions, String planner) {
        if (decisions.length != schedule.tensorCount())
            throw new IllegalArgumentException("a plan needs one decision per tensor: " + schedule.tensorCount()
                    + ", got " + decisions.length);
        this.schedule = schedule;
        this.decisions = decisions.clone();
        for (int i = 0; i < this.decisions.length; i++) if (this.decisions[i] == null)
            this.decisions[i] = Decision.KEEP;
        this.planner = planner;
    }

    /** Every tensor kept: what an eager framework does. */
    public static Plan baseline(Schedule s) {
        Decision[] d = new Decision[s.tensorCount()];
        Arrays.fill(d, Decision.KEEP);
        return new Plan(s, d, "baseline");
    }

    public Schedule schedule() { return schedule; }
    public String planner() { return planner; }
    public Decision decision(int tensor) { return decisions[tensor]; }
    public int size() { return decisions.length; }

    public Decision[] decisions() {
        return decisions.clone();
    }

    public Plan with(int tensor, Decision d) {
        Decision[] copy = decisions.clone();
        copy[tensor] = d == null ? Decision.KEEP : d;
        return new Plan(schedule, copy, planner);
    }

    public Plan withPlanner(String name) {
        return new Plan(schedule, decisions, name);
    }

    /** Whether any decision may change results (a lossy codec). */
    public boolean lossy() {
        for (Decision d : decisions) if (d instanceof Decision.Compress c && c.codec().lossy) return true;
        return false;
    }

    /** Number of tensors with a decision other than keep. */
    public int changedCount() {
        int n = 0;
        for (Decision d : decisions) if (!(d instanceof Decision.Keep)) n++;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Plan p && p.schedule == schedule && Arrays.equals(p.decisions, decisions);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(decisions);
    }
}
