package memplan.io;

import memplan.graph.Graph;
import memplan.graph.GraphException;
import memplan.ir.DType;
import memplan.ir.ModelException;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Counts read from a model file are exact or an error naming the layer: never a wrapped-around value (a dimension
 * of 4294967301 read as 5), never an allocation the file dictates (an Opaque op with ten million outputs).
 */
class ModelJsonLimitsTest {
    private static final String HEAD = "{\"format\": \"memplan-model\", \"version\": 1, \"name\": \"t\", \"layers\": [\n";

    private static ModelException error(String layers) {
        return assertThrows(ModelException.class, () -> ModelJson.parse(HEAD + layers + "]}", "bad.json"));
    }

    @Test
    void integersBeyondIntAreErrorsWithThePath() {
        ModelException e = error("{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4294967301]}");
        assertEquals("layers[0] (x).shape", e.location());
        assertEquals("dimension 4294967301 is larger than 2147483647, the largest MemPlan models", e.reason());
        ModelException out = error("{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]},"
                + "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 99999999999}");
        assertEquals("bad.json: at layers[1] (fc).out: 'out' is 99999999999, outside the integer range"
                + " -2147483648..2147483647", out.getMessage());
        assertEquals("layers[1] (c).kernel", error("{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 1, 8, 8]},"
                + "{\"name\": \"c\", \"op\": \"Conv2d\", \"inputs\": [\"x\"], \"out\": 2, \"kernel\": [3, 1099511627776]}")
                .location());
    }

    @Test
    void sizesThatWouldOverflowAreErrorsNamingTheLayer() {
        String wide = "{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 2147483647]},"
                + "{\"name\": \"a\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 2147483647},"
                + "{\"name\": \"b\", \"op\": \"Linear\", \"inputs\": [\"a\"], \"out\": 2147483647}";
        ModelException e = error(wide);
        assertInstanceOf(GraphException.class, e);
        assertEquals("layers[1] (a)", e.location());
        assertTrue(e.reason().contains("a tensor of shape [2147483647x2147483647] has more than 2^56 elements"), e.reason());
        // Each tensor fits, but together they are more bytes than can be counted.
        StringBuilder many = new StringBuilder("{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 134217728]}");
        for (int i = 0; i < 4; i++)
            many.append(",{\"name\": \"l").append(i).append("\", \"op\": \"Linear\", \"inputs\": [\"")
                    .append(i == 0 ? "x" : "l" + (i - 1)).append("\"], \"out\": 134217728}"); // weights of 2^54 elements
        ModelException sum = error(many.toString());
        assertTrue(sum.reason().contains("tensors add up to more than 256 PiB"), sum.reason());
        assertEquals("layers[2] (l1)", sum.location());
    }

    @Test
    void largeButCountableParameterCountsAreExact() {
        String text = HEAD + "{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 1048576]},"
                + "{\"name\": \"a\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 1048576},"
                + "{\"name\": \"b\", \"op\": \"Linear\", \"inputs\": [\"a\"], \"out\": 1048576},"
                + "{\"name\": \"c\", \"op\": \"Linear\", \"inputs\": [\"b\"], \"out\": 1048576}]}";
        Graph g = Graph.instantiate(ModelJson.parse(text, "big.json"), 1, DType.FP32);
        BigInteger perLayer = BigInteger.valueOf(1048576).pow(2).add(BigInteger.valueOf(1048576));
        assertEquals(perLayer.multiply(BigInteger.valueOf(3)).longValueExact(), g.parameterCount());
    }

    @Test
    void opaqueCountsAreBounded() {
        String x = "{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]},";
        ModelException arity = error(x + "{\"name\": \"o\", \"op\": \"Opaque\", \"inputs\": [], \"arity\": 0}");
        assertEquals("layers[1] (o).arity", arity.location());
        assertTrue(arity.reason().contains("takes 1..4096 inputs"), arity.reason());
        ModelException outs = error(x + "{\"name\": \"o\", \"op\": \"Opaque\", \"inputs\": [\"x\"], \"outputs\": 10000000}");
        assertEquals("layers[1] (o).outputs", outs.location());
        assertTrue(outs.reason().contains("1..4096 outputs, got 10000000"), outs.reason());
    }

    @Test
    void longListsAreBounded() {
        StringBuilder shape = new StringBuilder("[\"N\"");
        for (int i = 0; i < 5000; i++) shape.append(", 1");
        ModelException e = error("{\"name\": \"x\", \"op\": \"Input\", \"shape\": " + shape + "]}");
        assertTrue(e.reason().contains("has 5001 items, more than 4096"), e.reason());
    }
}
