package memplan.onnx;

import memplan.io.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

import static memplan.onnx.OnnxGraphBuilder.*;
import static memplan.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Errors about shapes that follow the batch name the node and its op type and write those sizes over N: never the
 * internal batch values of the two evaluation lanes ("[24, 1, 768] vs [36, 1, 768]"), never Java exception text.
 */
class OnnxBatchMessageTest {
    @TempDir
    Path dir;

    private String message(Function<OnnxGraphBuilder, String> graph) {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT_VALUE, "N", 6).input("y", FLOAT_VALUE, "N", 6);
        String out = graph.apply(b);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> b.output(out).load(dir,
                OnnxOptions.defaults().withLoss(OnnxOptions.Loss.MSE)));
        String m = e.getMessage();
        String at = m.substring(m.indexOf(": at ") + 2);
        for (int lane : Converter.LANE_BATCH)
            for (int k = 1; k <= 4; k++)
                assertFalse(Pattern.compile("\\b" + k * lane + "\\b").matcher(at).find(), "lane value in: " + at);
        assertFalse(at.contains("Exception") || at.contains("java."), at);
        assertTrue(at.startsWith("at node '"), at);
        return at;
    }

    @Test
    void reshapeThatFixesTheBatch() {
        String m = message(b -> b.node("Reshape", List.of("x", b.ints(4, 6))));
        assertTrue(m.contains("(Reshape): cannot reshape [N, 6] to [4, 6]")
                && m.contains("does the target shape fix the batch size?"), m);
    }

    @Test
    void broadcastOfDifferentMultiplesOfTheBatch() {
        String m = message(b -> b.node("Add", List.of(b.node("Reshape", List.of("x", b.ints(-1, 3))),
                b.node("Reshape", List.of("y", b.ints(-1, 2))))));
        assertTrue(m.contains("(Add)") && m.contains("[(2*N)x3] and [(3*N)x2] do not broadcast")
                && m.contains("2*N vs 3*N"), m);
    }

    @Test
    void concatOfDifferentMultiplesOfTheBatch() {
        String m = message(b -> b.node("Concat", List.of("x", b.node("Reshape", List.of("y", b.ints(-1, 3)))),
                i("axis", 1)));
        assertTrue(m.contains("(Concat)") && m.contains("2*N"), m);
    }

    @Test
    void squeezeOfTheBatch() {
        String m = message(b -> b.node("Squeeze", List.of("x", b.ints(0))));
        assertTrue(m.contains("(Squeeze): cannot squeeze axis 0 of a tensor of rank 2: its size is not 1"), m);
    }

    @Test
    void constantSizedByTwiceTheBatch() {
        String m = message(b -> {
            String n = b.node("Gather", List.of(b.node("Shape", List.of("x")), b.ints(0)), i("axis", 0));
            return b.node("Add", List.of(b.node("Reshape", List.of("x", b.ints(-1))),
                    b.node("ConstantOfShape", List.of(b.node("Mul", List.of(n, b.ints(6)))))));
        });
        assertTrue(m.contains("(ConstantOfShape): computes a constant of shape [6*N]"), m);
    }
}
