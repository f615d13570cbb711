package memplan.onnx;

import memplan.exec.RunResult;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.Compare;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/** Equal, Less, Greater, Not, And, Or, Xor on computed tensors import as bool Compare ops and train on the CPU. */
class OnnxCompareTest {
    private static final int FLOAT = FLOAT_VALUE;
    @TempDir
    Path dir;

    /** x [N, 3, 4], y [N, 1, 4]: a mask from every relation, applied with Where to a Linear of x. */
    private ModelDef model() throws Exception {
        var g = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 3, 4).input("y", FLOAT, "N", 1, 4);
        String h = g.node("MatMul", List.of("x", g.weight("w", 4, 4)));
        String lt = g.node("Less", List.of(h, "y"));
        String gt = g.node("Greater", List.of(g.scalar(0.5f), h)); // 0.5 > h: Less(h, 0.5)
        String eq = g.node("Equal", List.of("x", "y"));
        String m = g.node("Or", List.of(g.node("And", List.of(lt, g.node("Not", List.of(gt)))), eq));
        m = g.node("Xor", List.of(m, g.node("Greater", List.of("y", g.scalar(0f)))));
        return g.output(g.node("Where", List.of(m, h, g.scalar(0f)))).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
    }

    @Test
    void everyRelationImportsAsCompare() throws Exception {
        ModelDef m = model();
        assertEquals(8, count(m, "Compare"));
        assertEquals(0, count(m, "Opaque"));
        assertEquals(16, Graph.instantiate(m, 2, DType.FP32).parameterCount());
        Compare reversed = m.layers().stream().filter(l -> l.op() instanceof Compare c && c.value() != null
                && c.value() == 0.5).map(l -> (Compare) l.op()).findFirst().orElseThrow();
        assertEquals(Compare.Relation.LESS, reversed.relation(), "0.5 > h is h < 0.5");
        Graph g = Graph.instantiate(m, 3, DType.FP32);
        g.nodes().stream().filter(n -> n.op() instanceof Compare)
                .forEach(n -> assertEquals(DType.BOOL, g.value(n.outputs()[0]).dtype(), n.name()));
        // a bool mask [3, 3, 4] of one byte per element, not the model's float
        assertTrue(g.values().stream().anyMatch(v -> v.dtype() == DType.BOOL && v.bytes() == 36), "36-byte mask");
    }

    @Test
    void trainsOnTheCpuWithTheSameWeightsUnderRecompute() throws Exception {
        Schedule s = TrainingGraph.derive(Graph.instantiate(model(), 3, DType.FP32), Optimizer.SGD);
        RunResult base = OnnxCpuTrainingTest.run(Plan.baseline(s));
        RunResult recompute = OnnxCpuTrainingTest.run(OnnxCpuTrainingTest.everywhere(s, t -> Decision.RECOMPUTE));
        assertEquals(base.iterations().get(1).loss(), recompute.iterations().get(1).loss());
    }
}
