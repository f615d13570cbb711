package memplan.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import memplan.graph.Graph;
import memplan.ir.ModelException;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the ONNX reader and importer (the public entry point, {@link OnnxImporter#read}): any bytes are either
 * imported into a model that profiles, or rejected with one clear line. Each input is written to a file in a
 * folder of its own, so external-data locations that lead out of it are reached and must be refused.
 */
class OnnxImporterFuzzTest {
    private static final Path DIR = folder();
    private static final Path FILE = DIR.resolve("fuzz.onnx");

    private static Path folder() {
        try {
            Path d = Files.createTempDirectory("memplan-onnx-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void importModel(byte[] input) throws IOException {
        Files.write(FILE, input);
        String text = new String(input, java.nio.charset.StandardCharsets.ISO_8859_1); // names in the file, as bytes
        for (OnnxOptions o : new OnnxOptions[]{OnnxOptions.defaults(), OnnxOptions.defaults().withOpaqueUnsupported(true)}) {
            ModelDef m;
            try {
                m = OnnxImporter.read(FILE, o);
            } catch (ModelException e) {
                UserErrors.checkMessage(e, FILE.toString(), text);
                continue;
            }
            TrainingGraph.derive(Graph.instantiate(m, 2, DType.FP32), Optimizer.SGD);
            ModelJson.parse(ModelJson.write(m), "imported.json");
        }
    }
}
