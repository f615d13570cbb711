package memplan.planner;

class BaselinePlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "baseline";
    }
}
