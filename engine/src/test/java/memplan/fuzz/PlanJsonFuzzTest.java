package memplan.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.plan.Plan;
import memplan.plan.PlanFormatException;
import memplan.plan.PlanJson;
import memplan.plan.PlanValidator;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the plan reader against LeNet-5 at batch 4: any text is either a valid plan, which then lowers and simulates,
 * or one clear error line. The seeds write {@code sha256:SEED} for the model hash, which the target replaces by the
 * real one, so that mutations reach the decisions instead of all failing the hash check.
 */
class PlanJsonFuzzTest {
    private static final Schedule LENET = lenet();
    private static final String HASH = PlanJson.scheduleHash(LENET);
    private static final DeviceModel H100 = DeviceModel.preset("h100");

    static Schedule lenet() {
        try (InputStream in = PlanJsonFuzzTest.class.getResourceAsStream("lenet5.json")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return TrainingGraph.derive(Graph.instantiate(ModelJson.parse(text, "lenet5.json"), 4, DType.FP32), Optimizer.ADAM);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8).replace("sha256:SEED", HASH);
        Plan p;
        try {
            p = PlanJson.parse(text, "fuzz-plan.json", LENET);
        } catch (PlanFormatException e) {
            UserErrors.checkMessage(e, "fuzz-plan.json", text);
            return;
        }
        if (!PlanValidator.problems(p).isEmpty()) throw new AssertionError("an invalid plan was accepted: " + PlanValidator.problems(p));
        Simulator.simulate(p, H100);
        String again = PlanJson.write(p);
        if (!again.equals(PlanJson.write(PlanJson.parse(again, "again.json", LENET))))
            throw new AssertionError("plan does not round-trip:\n" + again);
    }
}
