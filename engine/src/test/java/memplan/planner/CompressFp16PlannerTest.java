package memplan.planner;

class CompressFp16PlannerTest extends PlannerContractTest {
    @Override
    String plannerName() {
        return "compress-fp16";
    }
}
