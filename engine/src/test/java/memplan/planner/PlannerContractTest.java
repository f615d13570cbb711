package memplan.planner;

import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What every planner promises: its plan validates and its simulated peak is at or under the budget it was given,
 * or it throws {@link InfeasibleBudgetException} naming a least peak above the budget. Each planner's test extends it.
 */
abstract class PlannerContractTest {
    abstract String plannerName();

    Planner planner() {
        return Planners.named(plannerName());
    }

    static final double[] BUDGETS = {1.0, 0.85, 0.7, 0.5, 0.3};

    /** Small zoo models at small batches: the contract on every budget. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "lenet5", "mlp"})
    void fitsTheBudgetOrSaysInfeasible(String model) {
        check(Zoo.schedule(model, 8));
    }

    @Test
    void largerModelsAtSmallBatch() {
        check(Zoo.schedule("resnet18", 4));
        check(Zoo.schedule("tiny-transformer", 32));
    }

    @Test
    void withoutBudgetThePeakIsNoHigherThanTheBaseline() {
        Schedule s = Zoo.schedule("tiny-cnn", 16);
        Plan p = planner().plan(s, Planner.MIN_PEAK, Zoo.H100);
        assertTrue(PlanValidator.problems(p).isEmpty(), () -> PlanValidator.problems(p).toString());
        if (!plannerName().startsWith("vdnn") && !plannerName().equals("checkpoint-sqrt"))
            assertTrue(Simulator.simulate(p, Zoo.H100).peakBytes() <= Zoo.baselinePeak(s));
        assertEquals(plannerName(), p.planner());
    }

    void check(Schedule s) {
        long base = Zoo.baselinePeak(s);
        for (double f : BUDGETS) {
            long budget = Math.round(f * base);
            try {
                Plan p = planner().plan(s, budget, Zoo.H100);
                assertTrue(PlanValidator.problems(p).isEmpty(), () -> plannerName() + ": " + PlanValidator.problems(p));
                SimResult r = Simulator.simulate(p, Zoo.H100);
                assertTrue(r.peakBytes() <= budget, plannerName() + " on " + s.graph().model().name() + " at " + f + ": peak " + r.peakBytes() + " > budget " + budget);
                if (lossless()) assertFalse(p.lossy());
            } catch (InfeasibleBudgetException e) {
                assertTrue(e.getMessage().startsWith("infeasible: the least peak reachable is "), e.getMessage());
                assertTrue(e.getMessage().contains("with planner " + plannerName()), e.getMessage());
                assertTrue(e.leastPeakBytes() > budget, e.getMessage());
                assertTrue(f < 1.0 || plannerName().startsWith("vdnn") || plannerName().equals("checkpoint-sqrt") ? true : false,
                        plannerName() + " must fit the baseline peak");
            }
        }
    }

    boolean lossless() {
        return planner().lossless();
    }
}
