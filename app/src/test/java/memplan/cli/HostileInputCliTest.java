package memplan.cli;

import memplan.onnx.OnnxExporter;
import memplan.onnx.proto.Onnx.ModelProto;
import memplan.onnx.proto.Onnx.StringStringEntryProto;
import memplan.onnx.proto.Onnx.TensorProto;
import memplan.samples.SampleModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static memplan.cli.ProfileCommandTest.assertOneErrorLine;
import static memplan.cli.ProfileCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The command line against hostile but realistic input (issue 20): each case is one "error: ..." line, exit code 2,
 * no stack trace, quickly, and every file the command was given is unchanged afterwards.
 */
class HostileInputCliTest {
    @TempDir
    Path dir;

    private Path model;
    private final List<Path> watched = new ArrayList<>();
    private final List<String> before = new ArrayList<>();

    private static final String MODEL = """
            {"format": "memplan-model", "version": 1, "name": "m", "layers": [
              {"name": "x", "op": "Input", "shape": ["N", 8]},
              {"name": "fc", "op": "Linear", "inputs": ["x"], "out": 4},
              {"name": "y", "op": "Input", "shape": ["N"], "dtype": "int64"},
              {"name": "loss", "op": "CrossEntropy", "inputs": ["fc", "y"]}
            ]}
            """;

    @BeforeEach
    void writeModel() throws IOException {
        model = watch(Files.writeString(dir.resolve("m.json"), MODEL));
    }

    private Path watch(Path f) throws IOException {
        watched.add(f);
        before.add(digest(f));
        return f;
    }

    private static String digest(Path f) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs the command, expects one error line with the fragments, and checks every watched file is unchanged. */
    private void rejects(List<String> args, String... fragments) throws IOException {
        ProfileCommandTest.Result r = run(args.toArray(String[]::new));
        assertOneErrorLine(r, fragments);
        for (int i = 0; i < watched.size(); i++)
            assertEquals(before.get(i), digest(watched.get(i)), watched.get(i) + " was changed by " + args);
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "a temporary file was left");
        }
    }

    private Path variant(String name, String from, String to) throws IOException {
        assertTrue(MODEL.contains(from), from);
        return watch(Files.writeString(dir.resolve(name), MODEL.replace(from, to)));
    }

    private Path sparse(String name, long bytes) throws IOException {
        Path f = dir.resolve(name);
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(bytes);
        }
        return f;
    }

    @Test
    void endlessOrHugeInputFilesAreRefusedUnread() throws IOException {
        if (Files.exists(Path.of("/dev/zero")))
            rejects(List.of("profile", "/dev/zero"), "/dev/zero: larger than 64 MiB");
        Path huge = sparse("huge.json", 2L << 30);
        rejects(List.of("profile", huge.toString()), "huge.json: larger than 64 MiB, the limit for a MemPlan JSON model file");
        rejects(List.of("simulate", model.toString(), "--batch", "2", "--plan", huge.toString()), "huge.json", "larger than 64 MiB");
        rejects(List.of("simulate", model.toString(), "--batch", "2", "--step-times", huge.toString()), "larger than 16 MiB");
        assertEquals(2L << 30, Files.size(huge));
    }

    @Test
    void noCommandWritesOverItsOwnInput() throws Exception {
        String m = model.toString();
        rejects(List.of("plan", m, "--planner", "share", "--out", m), "cannot write " + m, "an input of this command");
        rejects(List.of("simulate", m, "--csv", m), "cannot write " + m);
        rejects(List.of("run", m, "--batch", "2", "--iterations", "1", "--save-step-times", m), "cannot write " + m);
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), model);
        rejects(List.of("plan", m, "--planner", "share", "--out", link.toString()), "the same file as an input");
        Path hard = Files.createLink(dir.resolve("hard.json"), model);
        rejects(List.of("simulate", m, "--csv", hard.toString()), "the same file as an input");
        Path plan = dir.resolve("p.json");
        assertEquals(0, run("plan", m, "--batch", "2", "--planner", "checkpoint-sqrt", "--out", plan.toString()).code());
        watch(plan);
        rejects(List.of("simulate", m, "--batch", "2", "--plan", plan.toString(), "--csv", plan.toString()), "cannot write " + plan);
        Path onnx = dir.resolve("m.onnx");
        OnnxExporter.write(SampleModels.load("tiny-mlp"), 13, onnx, false);
        watch(onnx);
        rejects(List.of("import", onnx.toString(), "--out", onnx.toString()), "cannot write " + onnx);
    }

    @Test
    void aFailedWriteKeepsTheOldFile() throws IOException {
        Path old = watch(Files.writeString(dir.resolve("old.csv"), "an older timeline"));
        rejects(List.of("simulate", model.toString(), "--csv", dir.resolve("no/such/dir/t.csv").toString()), "does not exist");
        rejects(List.of("simulate", model.toString(), "--csv", dir.toString()), "it is a folder");
        if (Files.exists(Path.of("/dev/full")))
            rejects(List.of("simulate", model.toString(), "--csv", "/dev/full"), "cannot write /dev/full", "no space left");
        assertEquals(0, run("simulate", model.toString(), "--csv", old.toString()).code());
        assertTrue(Files.readString(old).startsWith("start_s,end_s,kind"));
    }

    @Test
    void countsBeyondIntOrOverflowingAreErrorsNotWrongValues() throws IOException {
        rejects(List.of("profile", variant("d.json", "[\"N\", 8]", "[\"N\", 4294967301]").toString()),
                "d.json: at layers[0] (x).shape: dimension 4294967301 is larger than 2147483647");
        rejects(List.of("profile", variant("o.json", "\"out\": 4", "\"out\": 99999999999").toString()),
                "o.json: at layers[1] (fc).out: 'out' is 99999999999, outside the integer range");
        rejects(List.of("profile", variant("p.json", "\"out\": 4", "\"out\": 1099511627776").toString()), "(fc).out");
        String wide = MODEL.replace("[\"N\", 8]", "[\"N\", 2147483647]")
                .replace("{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 4},",
                        "{\"name\": \"a\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 2147483647},"
                                + "{\"name\": \"b\", \"op\": \"Linear\", \"inputs\": [\"a\"], \"out\": 2147483647},"
                                + "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"b\"], \"out\": 4},");
        Path w = watch(Files.writeString(dir.resolve("wide.json"), wide));
        rejects(List.of("profile", w.toString()), "wide.json: at layers[1] (a)", "more than 2^56 elements");
    }

    @Test
    void opaqueAndEmptyTensorsAreClearErrors() throws IOException {
        rejects(List.of("profile", variant("a0.json", "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 4}",
                "{\"name\": \"z\", \"op\": \"Opaque\", \"inputs\": [], \"arity\": 0},"
                        + "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 4}").toString()),
                "a0.json: at layers[1] (z).arity: an Opaque op takes 1..4096 inputs");
        rejects(List.of("profile", variant("o10m.json", "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 4}",
                "{\"name\": \"o\", \"op\": \"Opaque\", \"inputs\": [\"x\"], \"outputs\": 10000000},"
                        + "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"o\"], \"out\": 4}").toString()),
                "(o).outputs: an Opaque op has 1..4096 outputs, got 10000000");
        Path zero = variant("zero.json", "[\"N\", 8]", "[\"N\", 0]");
        assertEquals(0, run("profile", zero.toString()).code(), "a profile of an empty tensor is fine");
        rejects(List.of("run", zero.toString(), "--batch", "2", "--iterations", "1"),
                "cannot run m: tensor 'x' of shape [2x0] has a 0-sized dimension");
    }

    @Test
    void plansAreReadStrictly() throws IOException {
        String m = model.toString();
        Path plan = dir.resolve("p.json");
        assertEquals(0, run("plan", m, "--batch", "2", "--planner", "checkpoint-sqrt", "--out", plan.toString()).code());
        String text = Files.readString(plan);
        Path trailing = watch(Files.writeString(dir.resolve("trailing.json"), text + "garbage"));
        rejects(List.of("simulate", m, "--batch", "2", "--plan", trailing.toString()), "trailing.json: not valid JSON at line");
        Path twice = watch(Files.writeString(dir.resolve("twice.json"),
                text.replace("\"decisions\" : [", "\"decisions\" : [ ],\n  \"decisions\" : [")));
        rejects(List.of("simulate", m, "--batch", "2", "--plan", twice.toString()), "($.decisions): field 'decisions' is given twice");
    }

    @Test
    void malformedArgumentsAreClearErrors() throws IOException {
        String m = model.toString();
        rejects(List.of("plan", m, "--planner", "hybrid+"), "planner 'hybrid+' has an empty name");
        rejects(List.of("plan", m, "--planner", "share++swap"), "has an empty name");
        rejects(List.of("bench", "simulate", "--runs", "1000000000"), "--runs must be 1..100000");
    }

    @Test
    void onnxExternalDataOutsideTheModelsFolderIsRefused() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("model"));
        Path onnx = sub.resolve("m.onnx");
        OnnxExporter.write(SampleModels.load("tiny-mlp"), 13, onnx, true);
        ModelProto p = ModelProto.parseFrom(Files.readAllBytes(onnx));
        for (String location : List.of("/etc/passwd", "../../../../etc/passwd")) {
            var g = p.getGraph().toBuilder();
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto.Builder t = g.getInitializer(i).toBuilder();
                if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) continue;
                for (int k = 0; k < t.getExternalDataCount(); k++)
                    if (t.getExternalData(k).getKey().equals("location"))
                        t.setExternalData(k, StringStringEntryProto.newBuilder().setKey("location").setValue(location));
                g.setInitializer(i, t);
            }
            Path bad = sub.resolve(location.startsWith("/") ? "absolute.onnx" : "escape.onnx");
            Files.write(bad, p.toBuilder().setGraph(g).build().toByteArray());
            watch(bad);
            rejects(List.of("import", bad.toString(), "--out", dir.resolve("out.json").toString()),
                    bad + ": at initializer '", location.startsWith("/") ? "is an absolute path" : "leads outside the model's folder");
            assertFalse(Files.exists(dir.resolve("out.json")));
        }
    }
}
