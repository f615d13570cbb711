package memplan.planner;

import memplan.units.ByteSize;

/** No plan of the planner fits the budget; says the least peak it reached. */
public class InfeasibleBudgetException extends IllegalArgumentException {
    private final String planner;
    private final long budgetBytes;
    private final long leastPeakBytes;

    public InfeasibleBudgetException(String planner, long budgetBytes, long leastPeakBytes) {
        super("infeasible: the least peak reachable is " + ByteSize.format(leastPeakBytes) + " (" + leastPeakBytes
                + " B) with planner " + planner + ", above the budget of " + ByteSize.format(budgetBytes)
                        + " (" + budgetBytes + " B)");
        this.planner = planner;
        this.budgetBytes = budgetBytes;
        this.leastPeakBytes = leastPeakBytes;
    }

    public String planner() { return planner; }
    public long budgetBytes() { return budgetBytes; }
    public long leastPeakBytes() { return leastPeakBytes; }
}
