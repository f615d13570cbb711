package memplan.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import memplan.ir.ModelException;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.graph.Graph;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;

import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the model JSON reader: any text either parses into a model that instantiates and derives a training
 * schedule, or is rejected with one clear line. The seeds (src/test/resources/memplan/fuzz/ModelJsonFuzzTestInputs)
 * run in every build; {@code JAZZER_FUZZ=1} mutates them (docs/robustness.md).
 */
class ModelJsonFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        ModelDef m;
        try {
            m = ModelJson.parse(text, "fuzz.json");
        } catch (ModelException e) {
            UserErrors.checkMessage(e, "fuzz.json", text);
            return;
        }
        // What the CLI does next with a model it read: a batch other than 1, and a training schedule.
        try {
            TrainingGraph.derive(Graph.instantiate(m, 3, DType.FP16), Optimizer.ADAM).tensorCount();
        } catch (ModelException e) {
            UserErrors.checkMessage(e, "fuzz.json", text);
        }
        // A model that was read writes back to text that reads as the same model.
        String again = ModelJson.write(m);
        if (!again.equals(ModelJson.write(ModelJson.parse(again, "again.json"))))
            throw new AssertionError("model does not round-trip:\n" + again);
    }
}
