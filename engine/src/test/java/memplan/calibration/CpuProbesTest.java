package memplan.calibration;

import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.exec.RunResult;
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
import java.util.TreeMap;
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

    /** A made-up run of {@code n} iterations whose fastest takes {@code seconds} (the first of several is slower). */
    private static RunResult runOf(int n, double seconds) {
        List<IterationResult> its = new ArrayList<>();
        for (int i = 0; i < n; i++)
            its.add(new IterationResult(i + 1, 0f, 0, 0, seconds * (i == 0 && n > 1 ? 3 : 1), 0, 0));
        return new RunResult("cpu", "made up", its, 0, "", false, false, null, null, List.of());
    }

    /** The op types of a model JSON's layers. */
    private static Set<String> opTypes(String json) {
        Set<String> out = new TreeSet<>();
        for (var n : Graph.instantiate(ModelJson.parse(json, "probe"), 1, DType.FP32).nodes())
            out.add(n.op().type());
        return out;
    }

    @Test
    void theJitWarmUpRunsEveryKernelTheProbesTime() {
        // a probe op the warm-up never runs would be timed in the JIT's profiling tier (several times slower)
        Set<String> warmed = new TreeSet<>(), probed = new TreeSet<>();
        Map<String, String> all = ProbeModels.all();
        // they are probes themselves, so their kernels take the probes' paths
        assertTrue(all.keySet().containsAll(ProbeModels.jitWarmUps()), "warm-ups " + ProbeModels.jitWarmUps()
                + " among the probes " + all.keySet());
        for (String name : ProbeModels.jitWarmUps()) warmed.addAll(opTypes(all.get(name)));
        for (String json : all.values()) probed.addAll(opTypes(json));
        probed.removeAll(warmed);
        assertTrue(probed.isEmpty(), "probe ops the warm-up does not run: " + probed);
    }

    @Test
    void warmUpRunsUntilTheIterationTimeStopsFalling() {
        // a JIT compiling in steps: 10 ms interpreted, then 5, 2, 1.9 (not 10% faster: warm), never 1.0
        double[] fastest = {0.010, 0.005, 0.002, 0.0019, 0.001};
        List<Integer> asked = new ArrayList<>();
        double best = CpuProbes.warmUp(n -> {
            asked.add(n);
            return runOf(n, fastest[asked.size() - 1]);
        }, 60, () -> false);
        assertEquals(0.0019, best, 1e-12);
        // the first run is one iteration; later ones about 0.1 s of iterations each, at most 40
        assertEquals(List.of(1, 10, 20, 40), asked);
    }

    @Test
    void warmUpOfALongProbeIsItsFirstIteration() {
        List<Integer> asked = new ArrayList<>();
        double best = CpuProbes.warmUp(n -> {
            asked.add(n);
            return runOf(n, 2.0);
        }, 1, () -> false);
        assertEquals(2.0, best, 1e-12);
        assertEquals(List.of(1), asked, "a run that would end past the budget is not started");
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
        Map<String, Integer> runsOf = new TreeMap<>();
        for (ProbeResults.Run run : r.runs()) runsOf.merge(run.probe(), 1, Integer::sum);
        for (String p : CpuProbes.models().keySet()) assertTrue(runsOf.getOrDefault(p, 0) >= 3, p + ": " + runsOf);
        // the first probe warms up in a cold JVM, yet is classed short and timed in more runs than a long one
        assertTrue(runsOf.get("mlp-8x16") > 3, runsOf.toString());
        for (int i = 1; i < progress.size(); i++) assertTrue(progress.get(i) >= progress.get(i - 1), "progress falls");
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
