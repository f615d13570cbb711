package memplan.cli;

import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.*;
import memplan.onnx.OnnxExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** `memplan import` and .onnx files given to `profile`. */
class OnnxCliTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        CommandLine cl = MemPlanCommand.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** A small CNN whose input is [N, 3, H, W]; exported with H and W symbolic. */
    private Path cnn(boolean symbolic) throws Exception {
        var b = ModelDef.builder("cnn");
        String x = b.add("image", new Input(symbolic ? List.of("N", "3", "H", "W") : List.of("N", "3", "16", "16"), null));
        if (symbolic) b.dim("H", 16).dim("W", 16);
        x = b.add("conv", Conv2d.of(8, 3, 1, 1, true), x);
        x = b.add("relu", new ReLU(), x);
        x = b.add("pool", new GlobalAvgPool(), x);
        x = b.add("flat", new Flatten(1), x);
        x = b.add("fc", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, b.add("label", new Input(List.of("N"), DType.INT64)));
        Path f = dir.resolve(symbolic ? "cnn_dyn.onnx" : "cnn.onnx");
        OnnxExporter.write(b.build(), 13, f, false);
        return f;
    }

    @Test
    void importWritesJson() throws Exception {
        Path out = dir.resolve("cnn.json");
        Result r = run("import", cnn(false).toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("parameters"), r.out());
        ModelDef m = ModelJson.read(out);
        assertEquals(8 * 27 + 8 + 8 * 10 + 10, memplan.graph.Graph.instantiate(m, 1, DType.FP32).parameterCount());
    }

    @Test
    void profileAcceptsOnnxWithInputShapeAndLoss() throws Exception {
        Path f = cnn(true);
        Result missing = run("profile", f.toString(), "--batch", "4");
        assertEquals(2, missing.code());
        assertTrue(missing.err().startsWith("error: ") && missing.err().contains("--input-shape image=1x3xHxW"), missing.err());
        Result ok = run("profile", f.toString(), "--batch", "4", "--input-shape", "image=1x3x32x32", "--loss", "mse", "--json");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("\"parameters\""), ok.out());
    }

    @Test
    void planAndSimulateAcceptOnnx() throws Exception {
        Path f = cnn(false);
        Result plan = run("plan", f.toString(), "--batch", "8", "--planner", "checkpoint-sqrt", "--json");
        assertEquals(0, plan.code(), plan.err());
        Result sim = run("simulate", f.toString(), "--batch", "8");
        assertEquals(0, sim.code(), sim.err());
    }

    @Test
    void badFileIsOneErrorLine() throws Exception {
        Path f = Files.writeString(dir.resolve("junk.onnx"), "not a model");
        Result r = run("import", f.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + f), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        Result bad = run("import", cnn(false).toString(), "--loss", "hinge");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("unknown loss 'hinge'"), bad.err());
    }

    /** `run` trains a model with opaque ops (placeholders that copy their input) and says their values mean nothing. */
    @Test
    void runSaysOpaqueOpsComputeNothingMeaningful() throws Exception {
        var b = ModelDef.builder("opaque-mlp");
        String x = b.add("x", new Input(List.of("N", "8"), null));
        x = b.add("fc1", new Linear(8, true), x);
        x = b.add("selu", new Opaque("onnx:Selu", 1, 1), x);
        x = b.add("fc2", new Linear(4, true), x);
        b.add("loss", new CrossEntropy(1), x, b.add("label", new Input(List.of("N"), DType.INT64)));
        Path f = dir.resolve("opaque.json");
        Files.writeString(f, ModelJson.write(b.build()));
        Result r = run("run", f.toString(), "--batch", "4", "--iterations", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("1 opaque op(s) [selu (onnx:Selu)] are placeholders"), r.err());
        assertTrue(r.out().contains("[opaque ops: values meaningless]"), r.out());
        Result j = run("run", f.toString(), "--batch", "4", "--iterations", "1", "--json");
        assertEquals(0, j.code(), j.err());
        assertTrue(j.out().contains("\"opaqueOps\" : 1") || j.out().contains("\"opaqueOps\":1"), j.out());
    }

    /** NonZero: without --opaque one line naming the node; with it, a note that the profile is an upper bound. */
    @Test
    void dataDependentOutputsAreUpperBoundsUnderOpaque() throws Exception {
        var b = ModelDef.builder("nz");
        String x = b.add("x", new Input(List.of("N", "4"), null));
        String r = b.add("relu", new ReLU(), x);
        b.add("nonzero", new Opaque("onnx:NonZero", 1, 1, Opaque.Bound.NONZERO, 0), r);
        String y = b.add("fc", new Linear(3, true), r);
        b.add("loss", new MseLoss(), y, b.add("target", new Input(List.of("N", "3"), null)));
        Path f = dir.resolve("nz.onnx");
        OnnxExporter.write(b.build(), 13, f, false);
        Result fail = run("import", f.toString(), "--out", dir.resolve("nz.json").toString());
        assertEquals(2, fail.code(), fail.err());
        assertTrue(fail.err().contains("node 'nonzero' (NonZero): its output size depends on the tensor's values"),
                fail.err());
        assertFalse(fail.err().contains("Exception"), fail.err());
        Result ok = run("import", f.toString(), "--opaque", "--out", dir.resolve("nz.json").toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("[nonzero (onnx:NonZero)]") && ok.out().contains("upper bound"), ok.out());
    }
}
