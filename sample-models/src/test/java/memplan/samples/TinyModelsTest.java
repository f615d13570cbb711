package memplan.samples;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class TinyModelsTest {
    static final List<String> TINY = List.of("tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama");

    /**
     * One training iteration at batch 8 must be cheap enough for a CPU backend to run in well under a second:
     * under 100 MFLOP in all (a CPU does several GFLOP/s) and small tensors.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "tiny-llama"})
    void oneIterationAtBatch8IsCheap(String name) {
        Graph g = Graph.instantiate(SampleModels.load(name), 8, DType.FP32);
        Schedule s = TrainingGraph.derive(g, Optimizer.ADAM);
        assertTrue(s.totalFlops() < 100_000_000L, name + ": " + s.totalFlops() + " FLOPs");
        assertTrue(g.parameterCount() < 100_000, name + ": " + g.parameterCount() + " parameters");
        for (var t : s.tensors()) assertTrue(t.bytes() < 1 << 20, name + ": tensor " + t.name() + " has " + t.bytes() + " bytes");
    }

    @Test
    void tinyModelsUseEveryCommonOpKind() {
        Set<String> used = new TreeSet<>();
        for (String n : TINY) for (Layer l : SampleModels.load(n).layers()) used.add(l.op().type());
        for (String op : List.of("Input", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "Linear",
                "Dropout", "Flatten", "Embedding", "LSTMCell", "Attention", "LayerNorm", "GELU", "Add", "Concat", "Slice",
                "Reshape", "Softmax", "MatMul", "Transpose", "Sigmoid", "Tanh", "Mul", "CrossEntropy", "RMSNorm",
                "RotaryEmbedding", "GatedActivation"))
            assertTrue(used.contains(op), op + " is not used by any tiny model (used: " + used + ")");
    }
}
