package memplan.onnx;

import memplan.graph.Graph;
import memplan.io.ModelFormatException;
import memplan.ir.DType;
import memplan.ir.Shape;
import memplan.model.ModelDef;
import memplan.ops.Slice;
import memplan.plan.Plan;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/** Slice with a step above 1 on a computed tensor: a crop, a [count, step] view and a Slice of one offset. */
class OnnxStridedSliceTest {
    private static final int FLOAT = FLOAT_VALUE;
    @TempDir
    Path dir;

    private ModelDef slice(int dim, long start, long end, long step) throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, dim, 3);
        String y = b.node("Slice", List.of("x", b.ints(start), b.ints(end), b.ints(2), b.ints(step)));
        return b.output(y).load(dir, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE));
    }

    private static List<Slice> slices(ModelDef m) {
        return m.layers().stream().filter(l -> l.op() instanceof Slice).map(l -> (Slice) l.op()).toList();
    }

    @Test
    void evenAndOddStartsOfPatchMerging() throws Exception {
        // x[..., 0::2, :] of 6: the view [3, 2] and index 0 of the step axis, no crop
        ModelDef even = slice(6, 0, Long.MAX_VALUE, 2);
        assertEquals(Shape.of(2, 4, 3, 3), outShape(even, 2));
        assertEquals(Shape.of(5, 4, 3, 3), outShape(even, 5));
        assertEquals(List.of(new Slice(3, 0, 1)), slices(even));
        // x[..., 1::2, :] of 6: the last stride would run past the end, so the same window and index 1
        ModelDef odd = slice(6, 1, Long.MAX_VALUE, 2);
        assertEquals(Shape.of(2, 4, 3, 3), outShape(odd, 2));
        assertEquals(List.of(new Slice(3, 1, 2)), slices(odd));
        assertEquals(0, count(odd, "Opaque"));
    }

    @Test
    void cropWhereTheStepsDoNotCoverTheAxis() throws Exception {
        // elements 1, 4 of 7 (step 3): crop [1, 7), view [2, 3], index 0
        ModelDef m = slice(7, 1, 6, 3);
        assertEquals(Shape.of(2, 4, 2, 3), outShape(m, 2));
        assertEquals(List.of(new Slice(2, 1, 7), new Slice(3, 0, 1)), slices(m));
        // elements 0, 2, 4 of 5: three strides of 2 do not fit in 5
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> slice(5, 0, 5, 2));
        assertTrue(e.getMessage().contains("Slice (step 2)"), e.getMessage());
    }

    @Test
    void trainsOnTheCpu() throws Exception {
        var s = TrainingGraph.derive(Graph.instantiate(slice(6, 1, Long.MAX_VALUE, 2), 3, DType.FP32),
                Optimizer.SGD);
        OnnxCpuTrainingTest.run(Plan.baseline(s));
    }
}
