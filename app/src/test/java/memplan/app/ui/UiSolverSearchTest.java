package memplan.app.ui;

import memplan.app.ui.planner.EnginePlanners;
import memplan.app.ui.planner.PlannerCatalog;
import memplan.app.ui.planner.PlannerViewModel;
import memplan.app.ui.session.SessionViewModel;
import memplan.plan.Plan;
import memplan.planner.SolveControl;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/** A solver-based planner in the app: its search is shown as it goes, and Stop search applies its best plan. */
class UiSolverSearchTest {
    @Test
    void theSolversReportIsShownAfterApplying() {
        SessionViewModel s = UiSessionViewModelTest.session();
        s.batchProperty().set(8);
        s.openSample("tiny-mlp");
        PlannerViewModel vm = new PlannerViewModel(s, new EnginePlanners());
        vm.plannerProperty().set("recompute-optimal");
        vm.budgetFractionProperty().set(0.3);
        vm.apply();
        assertNotNull(s.planProperty().get());
        assertFalse(vm.searchingProperty().get(), "the search is over");
        assertTrue(vm.searchStatusProperty().get().startsWith("Solver: "), vm.searchStatusProperty().get());
        assertTrue(vm.searchStatusProperty().get().contains("gap"), vm.searchStatusProperty().get());
    }

    @Test
    void aGreedyPlannerShowsNoSearch() {
        SessionViewModel s = UiSessionViewModelTest.session();
        s.batchProperty().set(8);
        s.openSample("tiny-mlp");
        PlannerViewModel vm = new PlannerViewModel(s, new EnginePlanners());
        vm.plannerProperty().set("recompute-greedy");
        vm.apply();
        assertEquals("", vm.searchStatusProperty().get());
        assertFalse(vm.searchingProperty().get());
    }

    /** A planner that searches until told to stop, then returns the plan it has: Stop search must reach it. */
    @Test
    void stopSearchReachesThePlannerAndItsPlanIsApplied() throws Exception {
        SessionViewModel s = UiSessionViewModelTest.session();
        s.batchProperty().set(8);
        s.openSample("tiny-mlp");
        AtomicBoolean sawStop = new AtomicBoolean();
        PlannerCatalog searching = new PlannerCatalog() {
            @Override public List<String> names() { return List.of("search"); }
            @Override public boolean solverBased(String name) { return true; }

            @Override
            public Plan plan(String name, Schedule schedule, long budget, DeviceModel device) {
                throw new AssertionError("the solver-based overload is used");
            }

            @Override
            public Plan plan(String name, Schedule schedule, long budget, DeviceModel device, SolveControl c) {
                long until = System.nanoTime() + 20_000_000_000L;
                while (!c.stopRequested() && System.nanoTime() < until) Thread.onSpinWait();
                sawStop.set(c.stopRequested());
                return Plan.baseline(schedule).withPlanner(name);
            }
        };
        PlannerViewModel vm = new PlannerViewModel(s, searching);
        Thread stopper = new Thread(() -> {
            while (!vm.searchingProperty().get()) Thread.onSpinWait();
            vm.stopSearch();
        });
        stopper.start();
        vm.apply(); // runs on this thread (DirectTaskRunner); the stopper presses Stop search meanwhile
        stopper.join(20_000);
        assertTrue(sawStop.get(), "the planner's control saw the stop");
        assertEquals("search", s.planProperty().get().planner(), "the plan found so far is applied");
        assertFalse(vm.searchingProperty().get());
    }
}
