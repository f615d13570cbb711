package memplan.calibration;

import memplan.exec.ProgressListener;
import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.sim.OpCostClass;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probes run and measure what they should; their times are this machine's, so none is asserted. */
class CpuProbesTest {
    /** The sample zoo's checked-in files (the engine cannot depend on the sample-models module). */
    static Path zoo() {
        for (Path p : List.of(Path.of("../sample-models/src/main/resources/memplan/models"),
                Path.of("sample-models/src/main/resources/memplan/models")))
            if (Files.isDirectory(p)) return p;
        throw new IllegalStateException("sample model files not found from " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyProbeModelIsAValidTrainingModel() {
        Map<String, String> m = CpuProbes.models();
        Set<String> types = new TreeSet<>();
        for (var e : m.entrySet()) {
            Schedule s = TrainingGraph.derive(Graph.instantiate(ModelJson.parse(e.getValue(), e.getKey()), 1,
                    DType.FP32), Optimizer.SGD);
            assertTrue(s.stepCount() > 10, e.getKey());
            for (var n : s.graph().nodes()) types.add(n.op().type());
        }
        // every op type of the zoo's models that run on a CPU in seconds is probed
        for (String model : List.of("tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama", "mlp",
                "lenet5", "resnet18"))
            for (var l : ModelJson.read(zoo().resolve(model + ".json")).layers())
                assertTrue(types.contains(l.op().type()), model + ": " + l.op().type() + " is not probed");
    }

    @Test
    void theProbesMeasureEveryClassTheFitNeedsAndTheFitAcceptsThem() {
        List<Double> progress = new ArrayList<>();
        ProbeResults r = CpuProbes.measure(new ProgressListener() {
            @Override
            public void progress(double fraction, String what) {
                progress.add(fraction);
            }
        }, () -> false);
        Set<OpCostClass> classes = new TreeSet<>();
        for (ProbeSample s : r.samples()) {
            classes.add(s.costClass());
            if (s.costClass() != OpCostClass.VIEW) assertTrue(s.seconds() > 0, s.toString());
            assertEquals(s.costClass().product() && s.flops() > 0, s.dims() != null, s.toString());
        }
        // every class but views, which have no steps
        Set<OpCostClass> all = new TreeSet<>(List.of(OpCostClass.values()));
        all.remove(OpCostClass.VIEW);
        assertEquals(all, classes);
        assertTrue(r.runs().size() >= 3 * CpuProbes.models().size());
        for (ProbeResults.Run run : r.runs()) assertTrue(run.iterationSeconds() >= run.stepSeconds(), run.toString());
        assertEquals(1.0, progress.get(progress.size() - 1));
        CpuFit.fit(r); // a real machine's figures pass the model's checks
    }

    @Test
    void cancellingStopsTheProbes() {
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> CpuProbes.measure(new ProgressListener() { }, () -> true));
        assertEquals("calibration of the cpu device cancelled", e.getMessage());
    }
}
