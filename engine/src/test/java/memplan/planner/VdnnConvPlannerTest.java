package memplan.planner;

class VdnnConvPlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "vdnn-conv";
    }
}
