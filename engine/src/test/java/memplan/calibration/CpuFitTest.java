package memplan.calibration;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.sim.CpuCostModel;
import memplan.sim.OpCostClass;
import memplan.sim.ProductDims;
import memplan.train.Optimizer;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fit's arithmetic on synthetic probe times: no probe runs, nothing depends on this machine. */
class CpuFitTest {
    /** A made-up CPU: per-class and per-type lines, and product throughputs that grow with size. */
    static final CpuCostModel TRUTH = new CpuCostModel(1.5e-6, 20e-6, List.of(
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, null, Phase.FORWARD, 2e-6, 4e9),
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, null, Phase.BACKWARD, 3e-6, 2e9),
            new CpuCostModel.ClassCost(OpCostClass.POINTWISE, "GELU", Phase.FORWARD, 4e-6, 0.2e9),
            new CpuCostModel.ClassCost(OpCostClass.NORM, null, Phase.FORWARD, 6e-6, 2.5e9),
            new CpuCostModel.ClassCost(OpCostClass.NORM, null, Phase.BACKWARD, 8e-6, 1.5e9),
            new CpuCostModel.ClassCost(OpCostClass.POOL, "MaxPool2d", Phase.FORWARD, 5e-6, 0.8e9),
            new CpuCostModel.ClassCost(OpCostClass.OPTIMIZER, null, Phase.OPTIMIZER, 1e-6, 5e9)), List.of(
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, new ProductDims(8, 8, 8, 1), 1e9),
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.FORWARD, new ProductDims(512, 1024, 1024, 1),
                    100e9),
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.BACKWARD, new ProductDims(8, 8, 8, 1), 0.8e9),
            new CpuCostModel.ProductPoint(OpCostClass.PRODUCT, Phase.BACKWARD,
                    new ProductDims(512, 1024, 1024, 1), 70e9),
            new CpuCostModel.ProductPoint(OpCostClass.CONV, Phase.FORWARD, new ProductDims(8, 8, 8, 1), 0.5e9),
            new CpuCostModel.ProductPoint(OpCostClass.CONV, Phase.FORWARD, new ProductDims(512, 98, 4608, 1), 60e9)));
    /** Bytes of a data batch written per second before an iteration's first step. */
    static final double DATA_BYTES_PER_SECOND = 2e9;

    static Map<String, Schedule> probeSchedules() {
        Map<String, Schedule> m = new LinkedHashMap<>();
        for (var e : CpuProbes.models().entrySet())
            m.put(e.getKey(), TrainingGraph.derive(Graph.instantiate(ModelJson.parse(e.getValue(), e.getKey()), 1,
                    DType.FP32), Optimizer.SGD));
        return m;
    }

    /** The probe results a CPU that behaves exactly like {@code m} would measure on the real probe models. */
    static ProbeResults synthetic(CpuCostModel m) {
        List<ProbeSample> samples = new ArrayList<>();
        List<ProbeResults.Run> runs = new ArrayList<>();
        for (var e : probeSchedules().entrySet()) {
            Schedule s = e.getValue();
            double sum = 0;
            for (Step st : s.steps()) {
                Node n = st.node() >= 0 ? s.graph().nodes().get(st.node()) : null;
                double t = m.kernelSeconds(n, st.phase(), CpuCostModel.kernelFlops(s, st), st.bytesAccessed());
                samples.add(CpuProbes.sample(e.getKey(), s, st, t));
                sum += t;
            }
            long data = CpuProbes.dataBytes(s);
            double iteration = sum + s.steps().size() * m.gapSeconds() + m.iterationSeconds()
                    + data / DATA_BYTES_PER_SECOND;
            for (int run = 0; run < 3; run++)
                runs.add(new ProbeResults.Run(e.getKey(), s.steps().size(), data, iteration, sum));
        }
        return new ProbeResults(samples, runs, 1.5);
    }

    @Test
    void aFitOfACpuThatBehavesLikeAModelPredictsEveryProbeStepAsThatModelDoes() {
        CpuCostModel fit = CpuFit.fit(synthetic(TRUTH));
        assertEquals(TRUTH.gapSeconds(), fit.gapSeconds(), 1e-12);
        assertEquals(TRUTH.iterationSeconds(), fit.iterationSeconds(), 1e-10);
        for (var e : probeSchedules().entrySet()) {
            Schedule s = e.getValue();
            for (Step st : s.steps())
                assertEquals(TRUTH.stepSeconds(s, st), fit.stepSeconds(s, st), 1e-9 * TRUTH.stepSeconds(s, st),
                        e.getKey() + " " + st.label());
        }
        // the lines of the types the truth names come back as they were
        CpuCostModel.ClassCost gelu = fit.cost(OpCostClass.POINTWISE, "GELU", Phase.FORWARD);
        assertEquals("GELU", gelu.opType());
        assertEquals(4e-6, gelu.callSeconds(), 1e-12);
        assertEquals(0.2e9, gelu.bytesPerSecond(), 1e-3 * 0.2e9);
        CpuCostModel.ClassCost pool = fit.cost(OpCostClass.POOL, "MaxPool2d", Phase.FORWARD);
        assertEquals(5e-6, pool.callSeconds(), 1e-12);
        assertEquals(0.8e9, pool.bytesPerSecond(), 1e-3 * 0.8e9);
        // and every product class measured at the probes' shapes
        for (OpCostClass c : List.of(OpCostClass.PRODUCT, OpCostClass.CONV, OpCostClass.ATTENTION,
                OpCostClass.RECURRENT))
            for (Phase ph : List.of(Phase.FORWARD, Phase.BACKWARD))
                assertTrue(fit.products().stream().anyMatch(p -> p.costClass() == c && p.phase() == ph), c + " " + ph);
    }

    @Test
    void aFittedModelPredictsAModelOutsideTheProbesFromTheSameLines() {
        // a step of a type the truth gives its own line, at a size no probe ran
        CpuCostModel fit = CpuFit.fit(synthetic(TRUTH));
        for (long bytes : new long[]{1_000, 123_456, 50_000_000})
            assertEquals(TRUTH.cost(OpCostClass.POINTWISE, "GELU", Phase.FORWARD).seconds(bytes),
                    fit.cost(OpCostClass.POINTWISE, "GELU", Phase.FORWARD).seconds(bytes), 1e-9 * bytes / 0.2e9);
    }

    static ProbeSample at(long bytes, double seconds) {
        return new ProbeSample("p", OpCostClass.NORM, "LayerNorm", Phase.FORWARD, 0, bytes, null, seconds);
    }

    @Test
    void aLineIsFittedOnRelativeErrorAndKeptPhysical() {
        // exact points: the line itself
        CpuCostModel.ClassCost c = CpuFit.line(List.of(at(1000, 1e-6 + 1000 / 2e9), at(1_000_000, 1e-6 + 1e6 / 2e9),
                at(100_000, 1e-6 + 1e5 / 2e9)), "LayerNorm", true);
        assertEquals(1e-6, c.callSeconds(), 1e-15);
        assertEquals(2e9, c.bytesPerSecond(), 1);
        assertEquals("LayerNorm", c.opType());
        // a time that falls with bytes is all per-call cost (the weighted mean), at an unbounded bandwidth
        c = CpuFit.line(List.of(at(1000, 2e-6), at(100_000, 1e-6)), null, true);
        assertEquals(CpuFit.UNBOUNDED_BYTES_PER_SECOND, c.bytesPerSecond(), 0);
        assertEquals((1 / 2e-6 + 1 / 1e-6) / (1 / 4e-12 + 1 / 1e-12), c.callSeconds(), 1e-15);
        assertNull(c.opType());
        // a line that would cross below zero goes through the origin
        c = CpuFit.line(List.of(at(1000, 1e-9), at(1_000_000, 1e-3)), null, true);
        assertEquals(0, c.callSeconds(), 0);
        assertTrue(c.bytesPerSecond() > 0);
        // one size: all of it bytes
        c = CpuFit.line(List.of(at(1000, 1e-6), at(1000, 3e-6)), null, false);
        assertEquals(0, c.callSeconds(), 0);
        assertEquals(1000 / 2e-6, c.bytesPerSecond(), 1e-3);
    }

    @Test
    void theExecutorsCostsPerStepAndIterationComeFromTheRunsTimeOutsideTheirSteps() {
        List<ProbeResults.Run> runs = List.of(
                new ProbeResults.Run("a", 10, 0, 10 * 2e-6 + 5e-6 + 1e-3, 1e-3),
                new ProbeResults.Run("a", 10, 0, 10 * 9e-6 + 5e-6 + 1e-3, 1e-3), // descheduled: the quartile keeps
                new ProbeResults.Run("a", 10, 0, 10 * 2e-6 + 5e-6 + 1e-3, 1e-3), // the quiet ones
                new ProbeResults.Run("b", 20, 4_000_000, 20 * 2e-6 + 5e-6 + 4e6 / 1e9 + 5e-3, 5e-3),
                new ProbeResults.Run("c", 40, 1_000_000, 40 * 2e-6 + 5e-6 + 1e6 / 1e9 + 5e-3, 5e-3),
                new ProbeResults.Run("d", 70, 0, 70 * 2e-6 + 5e-6 + 5e-3, 5e-3));
        double[] e = CpuFit.executorSeconds(runs);
        assertEquals(2e-6, e[0], 1e-12);
        assertEquals(5e-6, e[1], 1e-11);
        // a term that would come out negative is left out and the others fitted again
        double[] c = CpuFit.nonNegativeLeastSquares(new double[][]{{1, 1}, {2, 1}, {3, 1}}, new double[]{3, 2, 1});
        assertEquals(0, c[0], 0);
        assertEquals(2, c[1], 1e-12);
        assertEquals(0, CpuFit.executorSeconds(List.of())[0], 0);
    }

    @Test
    void quantilesInterpolateBetweenNeighbours() {
        assertEquals(2.5, CpuProbes.quantile(List.of(4.0, 1.0, 3.0, 2.0), 0.5), 1e-12);
        assertEquals(1.75, CpuProbes.quantile(List.of(4.0, 1.0, 3.0, 2.0), 0.25), 1e-12);
        assertEquals(7.0, CpuProbes.quantile(List.of(7.0), 0.25), 0);
        assertEquals(0.0, CpuProbes.quantile(List.of(), 0.25), 0);
    }

    @Test
    void aMissingClassOrAZeroTimeIsReported() {
        ProbeResults r = synthetic(TRUTH);
        List<ProbeSample> noProducts = r.samples().stream().filter(x -> x.costClass() != OpCostClass.PRODUCT)
                .toList();
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> CpuFit.fit(new ProbeResults(noProducts, r.runs(), 1)));
        assertEquals("the probes measured no forward matrix product; the cpu device cannot be calibrated",
                e.getMessage());
        List<ProbeSample> noUpdates = r.samples().stream().filter(x -> x.costClass() != OpCostClass.OPTIMIZER)
                .toList();
        e = assertThrows(CalibrationException.class, () -> CpuFit.fit(new ProbeResults(noUpdates, r.runs(), 1)));
        assertEquals("the probes measured no optimizer update; the cpu device cannot be calibrated", e.getMessage());
        List<ProbeSample> zero = r.samples().stream().map(x -> x.probe().equals("mlp-8x32") && x.opType() != null
                && x.opType().equals("ReLU") ? new ProbeSample(x.probe(), x.costClass(), x.opType(), x.phase(),
                x.flops(), x.bytes(), x.dims(), 0) : x).toList();
        e = assertThrows(CalibrationException.class, () -> CpuFit.fit(new ProbeResults(zero, r.runs(), 1)));
        assertEquals("the mlp-8x32 probe measured no time (0.0 s) for a pointwise step; the cpu device cannot be "
                + "calibrated", e.getMessage());
    }
}
