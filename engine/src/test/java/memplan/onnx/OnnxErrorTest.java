package memplan.onnx;

import memplan.io.ModelFormatException;
import memplan.model.ModelDef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static memplan.onnx.OnnxGraphBuilder.*;
import static org.junit.jupiter.api.Assertions.*;

/** Bad files and unsupported graphs give one ModelFormatException naming the file, where and why. */
class OnnxErrorTest {
    @TempDir
    Path dir;

    private ModelFormatException fails(Path f, OnnxOptions o) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImporter.read(f, o));
        assertEquals(f.toString(), e.source());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        return e;
    }

    private ModelFormatException fails(Path f) {
        return fails(f, OnnxOptions.defaults());
    }

    private static OnnxGraphBuilder small() {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        String y = b.node("Gemm", List.of("x", b.weight("w", 10, 16), b.weight("b", 10)), i("transB", 1));
        return b.output(y);
    }

    @Test
    void missingFile() {
        assertTrue(fails(dir.resolve("nope.onnx")).reason().contains("not found"));
    }

    @Test
    void emptyFile() throws Exception {
        Path f = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertTrue(fails(f).reason().contains("empty"));
    }

    @Test
    void notOnnx() throws Exception {
        Path json = Files.writeString(dir.resolve("model.onnx"), "{\"format\": \"memplan-model\", \"layers\": []}\n");
        assertTrue(fails(json).reason().toLowerCase().contains("onnx"), fails(json).reason());
        Path png = Files.write(dir.resolve("image.onnx"), new byte[]{(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13});
        assertTrue(fails(png).reason().toLowerCase().contains("onnx"), fails(png).reason());
    }

    @Test
    void truncated() throws Exception {
        byte[] full = small().model().toByteArray();
        for (int cut : new int[]{full.length / 3, full.length / 2, full.length - 3}) {
            Path f = Files.write(dir.resolve("cut" + cut + ".onnx"), Arrays.copyOf(full, cut));
            fails(f);
        }
    }

    @Test
    void missingExternalDataFile() throws Exception {
        Path f = dir.resolve("ext.onnx");
        OnnxExporter.write(OnnxRoundTripTest.lenet5(), 13, f, true);
        Files.delete(dir.resolve("ext.onnx.data"));
        ModelFormatException e = fails(f);
        assertTrue(e.reason().contains("missing external data file 'ext.onnx.data'"), e.getMessage());
        assertTrue(e.location().startsWith("initializer '"), e.location());
    }

    @Test
    void shortExternalDataFile() throws Exception {
        Path f = dir.resolve("short.onnx");
        OnnxExporter.write(OnnxRoundTripTest.lenet5(), 13, f, true);
        Files.write(dir.resolve("short.onnx.data"), new byte[100]);
        assertTrue(fails(f).reason().contains("has 100 bytes"));
    }

    private static OnnxGraphBuilder withUnsupported() {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 4, 8, 8);
        String a = b.node("Relu", List.of("x"));
        String f1 = b.node("Floorish", List.of(a));
        String f2 = b.node("Floorish", List.of(f1));
        String r = b.node("Relu", List.of(f2));
        String s = b.node("Selu", List.of(r));
        String y = b.node("Conv", List.of(s, b.weight("w", 2, 4, 3, 3)), is("pads", 1, 1, 1, 1));
        return b.output(y);
    }

    @Test
    void unsupportedOperatorsAreListedWithCounts() throws Exception {
        ModelFormatException e = fails(withUnsupported().write(dir));
        assertTrue(e.reason().contains("unsupported operators: Floorish x2, Selu x1"), e.reason());
        // the engine names the remedy; the CLI and the app word it (--opaque, a control)
        assertEquals(memplan.ir.Remedy.KEEP_UNSUPPORTED_AS_OPAQUE, e.remedy());
        assertFalse(e.reason().contains("--"), e.reason());
    }

    @Test
    void opaqueKeepsThemAsElementwiseOps() throws Exception {
        ModelDef m = withUnsupported().load(dir, OnnxOptions.defaults().withOpaqueUnsupported(true));
        assertEquals(3, count(m, "Opaque"));
        assertEquals(memplan.ir.Shape.of(3, 2, 8, 8), outShape(m, 3));
        String json = memplan.io.ModelJson.write(m);
        assertTrue(json.contains("onnx:Floorish"), json);
        memplan.io.ModelJson.parse(json, "opaque round trip");
    }

    @Test
    void missingSymbolicDimensionNamesInputAndSymbols() throws Exception {
        var b = new OnnxGraphBuilder(13).input("images", FLOAT, "batch", 3, "height", "width");
        Path f = b.output(b.node("Relu", List.of("images"))).write(dir);
        ModelFormatException e = fails(f);
        assertEquals("input 'images'", e.location());
        assertTrue(e.reason().contains("'height' (axis 2)") && e.reason().contains("'width' (axis 3)"), e.reason());
        assertTrue(e.reason().contains("give its shape, e.g. images=1x3xheightxwidth"), e.reason());
        assertEquals(memplan.ir.Remedy.INPUT_SHAPE, e.remedy());
        assertEquals("images=1x3xheightxwidth", e.remedyDetail());
        ModelDef ok = OnnxImporter.read(f, OnnxOptions.defaults().withInputShape("images", 1, 3, 64, 48));
        assertEquals(memplan.ir.Shape.of(2, 3, 64, 48), outShape(ok, 2));
    }

    @Test
    void inputShapeForUnknownInputOrWrongRank() throws Exception {
        Path f = small().write(dir);
        assertTrue(fails(f, OnnxOptions.defaults().withInputShape("imgs", 1, 16)).reason().contains("no input named 'imgs'"));
        assertTrue(fails(f, OnnxOptions.defaults().withInputShape("x", 1, 16, 2)).reason().contains("rank 2"));
        assertTrue(fails(f, OnnxOptions.defaults().withInputShape("x", 1, 17)).reason().contains("fixes to 16"));
    }

    @Test
    void danglingInputNamesNode() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        Path f = b.output(b.node("Add", List.of("x", "ghost"))).write(dir);
        ModelFormatException e = fails(f);
        assertTrue(e.location().contains("(Add)"), e.location());
        assertTrue(e.reason().contains("'ghost'"), e.reason());
    }

    @Test
    void shapeMismatchNamesNode() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N", 16);
        Path f = b.output(b.node("Gemm", List.of("x", b.weight("w", 10, 15)), i("transB", 1))).write(dir);
        ModelFormatException e = fails(f);
        assertTrue(e.location().contains("(Gemm)"), e.location());
        assertTrue(e.reason().contains("weight"), e.reason());
    }

    @Test
    void badLossChoice() throws Exception {
        var b = new OnnxGraphBuilder(13).input("x", FLOAT, "N");
        Path f = b.output(b.node("Relu", List.of("x"))).write(dir);
        ModelFormatException ce = fails(f, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
        assertTrue(ce.reason().contains("a mean-squared-error loss can train it"), ce.reason());
        assertEquals(memplan.ir.Remedy.MSE_LOSS, ce.remedy());
        assertThrows(IllegalArgumentException.class, () -> OnnxOptions.Loss.parse("hinge"));
    }

    @Test
    void parseInputShape() {
        var e = OnnxOptions.parseInputShape("images=1x3x640x640");
        assertEquals("images", e.getKey());
        assertArrayEquals(new int[]{1, 3, 640, 640}, e.getValue());
        assertThrows(IllegalArgumentException.class, () -> OnnxOptions.parseInputShape("images"));
        assertThrows(IllegalArgumentException.class, () -> OnnxOptions.parseInputShape("images=1xax3"));
    }

    /** Corrupted bytes anywhere: the importer either reads a model or throws ModelFormatException, nothing else. */
    @Test
    void corruptedFilesNeverEscapeAsOtherExceptions() throws Exception {
        Path good = dir.resolve("good.onnx");
        OnnxExporter.write(OnnxRoundTripTest.transformerBlock(), 13, good, false);
        byte[] bytes = Files.readAllBytes(good);
        java.util.Random r = new java.util.Random(7);
        OnnxOptions o = OnnxOptions.defaults().withInputShape("ids", 1, 16).withLoss(OnnxOptions.Loss.CE);
        int parsed = 0;
        for (int k = 0; k < 300; k++) {
            byte[] b = bytes.clone();
            for (int j = 0; j < 1 + r.nextInt(3); j++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            Path f = Files.write(dir.resolve("bad" + k + ".onnx"), b);
            try {
                OnnxImporter.read(f, o);
                parsed++;
            } catch (ModelFormatException e) {
                assertEquals(f.toString(), e.source());
            }
            Files.delete(f);
        }
        assertTrue(parsed < 300);
    }
}
