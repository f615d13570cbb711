package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.StringStringEntryProto;
import memplan.onnx.proto.Onnx.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.FLOAT;
import static org.junit.jupiter.api.Assertions.*;

/**
 * ONNX files written to attack the importer: external data that points out of the model's folder (ONNX Runtime
 * refuses it, so must we, without even looking there), external data of the wrong length, initializers without data,
 * dimensions beyond int. Each is one error naming the initializer or input.
 */
class OnnxHostileTest {
    @TempDir
    Path dir;

    /** x [N, 4] @ w [4, 3], with w's 48 bytes in the file. */
    private static OnnxGraphBuilder matmul() {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String y = b.node("MatMul", List.of("x", b.weight("w", 4, 3)));
        return b.output(y);
    }

    /** The model with w moved to external data with these entries. */
    private Path withExternal(String... keyValues) throws IOException {
        ModelProto m = matmul().model();
        var g = m.getGraph().toBuilder();
        TensorProto.Builder w = g.getInitializer(0).toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL);
        for (int i = 0; i < keyValues.length; i += 2)
            w.addExternalData(StringStringEntryProto.newBuilder().setKey(keyValues[i]).setValue(keyValues[i + 1]));
        g.setInitializer(0, w);
        Path sub = Files.createDirectories(dir.resolve("model"));
        Path f = sub.resolve("m.onnx");
        Files.write(f, m.toBuilder().setGraph(g).build().toByteArray());
        return f;
    }

    private static ModelFormatException fails(Path f) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImporter.read(f, OnnxOptions.defaults()));
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    @Test
    void externalDataInsideTheFolderIsRead() throws IOException {
        Path f = withExternal("location", "w.bin", "length", "48");
        Files.write(f.resolveSibling("w.bin"), new byte[48]);
        assertFalse(OnnxImporter.read(f, OnnxOptions.defaults()).layers().isEmpty());
        Files.createDirectories(f.resolveSibling("data"));
        Files.write(f.resolveSibling("data").resolve("w.bin"), new byte[48]);
        OnnxImporter.read(withExternal("location", "data/../data/w.bin"), OnnxOptions.defaults());
    }

    @Test
    void anAbsoluteLocationIsRefusedWithoutLookingAtIt() throws IOException {
        ModelFormatException e = fails(withExternal("location", "/etc/passwd"));
        assertEquals("initializer 'w'", e.location());
        assertTrue(e.reason().contains("'/etc/passwd' is an absolute path"), e.reason());
        // Whether the file exists is not told: the same answer for one that does not.
        assertEquals(e.reason().replace("/etc/passwd", "X"),
                fails(withExternal("location", "/no/such/file")).reason().replace("/no/such/file", "X"));
    }

    @Test
    void aLocationEscapingTheFolderIsRefused() throws IOException {
        Files.write(dir.resolve("outside.bin"), new byte[48]);
        for (String loc : new String[]{"../outside.bin", "../../../../etc/passwd", "a/../../outside.bin", ".", ""}) {
            ModelFormatException e = fails(withExternal("location", loc));
            assertTrue(e.reason().contains("leads outside the model's folder") || e.reason().contains("without a 'location'"),
                    loc + ": " + e.reason());
        }
    }

    @Test
    void aLinkLeadingOutOfTheFolderIsRefused() throws IOException {
        Path outside = Files.write(dir.resolve("outside.bin"), new byte[48]);
        Path f = withExternal("location", "w.bin");
        Files.createSymbolicLink(f.resolveSibling("w.bin"), outside);
        assertTrue(fails(f).reason().contains("is a link leading outside the model's folder"));
    }

    @Test
    void externalDataMustMatchTheTensorsLength() throws IOException {
        Path f = withExternal("location", "w.bin", "length", "40");
        Files.write(f.resolveSibling("w.bin"), new byte[48]);
        assertTrue(fails(f).reason().contains("external data length 40 does not match the tensor: its shape [4, 3] of float"
                + " needs 48 bytes"), fails(f).reason());
        Path g = withExternal("location", "w.bin", "offset", "16");
        assertTrue(fails(g).reason().contains("has 48 bytes; the tensor needs 48 bytes from offset 16"), fails(g).reason());
        assertTrue(fails(withExternal("location", "w.bin", "offset", "-1")).reason().contains("negative"));
        assertTrue(fails(withExternal("location", "w.bin", "length", "x1")).reason().contains("is not a number"));
        assertTrue(fails(withExternal("location", "w.bin", "offset", "9223372036854775807")).reason().contains("has 48 bytes"));
    }

    @Test
    void anInitializerWithoutDataIsAnError() throws IOException {
        ModelProto m = matmul().model();
        var g = m.getGraph().toBuilder();
        g.setInitializer(0, g.getInitializer(0).toBuilder().clearRawData());
        Path f = Files.write(dir.resolve("nodata.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        ModelFormatException e = fails(f);
        assertEquals("initializer 'w'", e.location());
        assertTrue(e.reason().startsWith("has no data"), e.reason());
        g.setInitializer(0, g.getInitializer(0).toBuilder().addFloatData(1f).addFloatData(2f));
        Files.write(f, m.toBuilder().setGraph(g).build().toByteArray());
        assertTrue(fails(f).reason().contains("holds 2 values but its shape [4, 3] needs 12"), fails(f).reason());
    }

    @Test
    void dimensionsBeyondIntAreErrorsNotWrappedValues() throws IOException {
        var b = new OnnxGraphBuilder(13);
        b.g.addInput(OnnxGraphBuilder.info("x", FLOAT, "N", 4));
        b.g.getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(1).setDimValue(4294967301L);
        b.output(b.node("Relu", List.of("x")));
        ModelFormatException e = fails(b.write(dir));
        assertEquals("input 'x'", e.location());
        assertTrue(e.reason().contains("axis 1 has size 4294967301, larger than 2147483647"), e.reason());
        var w = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        w.g.addInitializer(TensorProto.newBuilder().setName("w").setDataType(FLOAT).addDims(1L << 40).addDims(4));
        w.output(w.node("MatMul", List.of("x", "w")));
        assertTrue(fails(w.write(dir)).reason().contains("dimension 0 is 1099511627776"), fails(w.write(dir)).reason());
    }

    @Test
    void javaTextFromTheConverterIsSaidInWords() {
        assertEquals("refers to position 5 of 2 (an input, output, axis or attribute value that does not exist)",
                OnnxImporter.inWords("Index 5 out of bounds for length 2"));
        assertEquals("a division by zero (a zero stride, size, step or group count)", OnnxImporter.inWords("/ by zero"));
        assertEquals("invalid inputs or attributes for this operator", OnnxImporter.inWords(null));
        assertEquals("a value that is not a number", OnnxImporter.inWords("For input string: \"x\""));
        assertEquals("kernel must be positive", OnnxImporter.inWords("kernel must be positive"));
    }

    @Test
    void aRangeThatNeverEndsIsAnErrorNotAnAllocation() throws IOException {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10);
        String r = b.node("Range", List.of(b.intScalar(0), b.intScalar(10), b.intScalar(0)));
        ModelFormatException e = fails(b.output(b.node("Reshape", List.of("x", r))).write(dir));
        assertTrue(e.location().endsWith("(Range)"), e.location());
        assertEquals("the delta of a Range must not be 0", e.reason());
        var big = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 10);
        String r2 = big.node("Range", List.of(big.intScalar(0), big.intScalar(1L << 40), big.intScalar(1)));
        assertTrue(fails(big.output(big.node("Reshape", List.of("x", r2))).write(dir)).reason()
                .contains("a range of 1099511627776 values is too large to fold"));
    }

    @Test
    void aNodeWithoutARequiredInputIsNamed() throws IOException {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        String y = b.node("Reshape", List.of("x"));
        ModelFormatException e = fails(b.output(y).write(dir));
        assertEquals("node '" + y + "_node' (Reshape)", e.location());
        assertEquals("takes 2 inputs, but input 1 is missing", e.reason());
        var a = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4);
        assertTrue(fails(a.output(a.node("Add", List.of("x", ""))).write(dir)).reason().contains("input 1 is missing"));
    }
}
