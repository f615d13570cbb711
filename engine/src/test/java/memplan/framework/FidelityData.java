package memplan.framework;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.io.ModelJson;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.profile.MemoryProfile;
import memplan.train.Phase;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the tests that check MemPlan against the harnesses' measured data (resources fidelity/) share: reading a data
 * file, importing a committed ONNX graph whose weights are a zero file of the recorded length, and the ratio check.
 */
public final class FidelityData {
    private FidelityData() {
    }

    /** A data file under resources fidelity/, e.g. {@code pytorch-cpu.json}. */
    public static JsonNode read(String name) throws IOException {
        try (InputStream in = FidelityData.class.getResourceAsStream("/fidelity/" + name)) {
            assertNotNull(in, "fidelity/" + name + " is missing");
            return new ObjectMapper().readTree(in);
        }
    }

    /**
     * The committed ONNX graph {@code onnx} (a path under fidelity/), copied into {@code dir} beside a zero file of
     * {@code externalDataBytes} that stands in for its weights (the importer reads only their shapes).
     */
    public static ModelDef onnxModel(String onnx, long externalDataBytes, Path dir) throws IOException {
        Path file = dir.resolve(Path.of(onnx).getFileName());
        try (InputStream in = FidelityData.class.getResourceAsStream("/fidelity/" + onnx)) {
            assertNotNull(in, onnx);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        try (RandomAccessFile f = new RandomAccessFile(file.resolveSibling(file.getFileName() + ".data").toFile(),
                "rw")) {
            f.setLength(externalDataBytes);
        }
        return OnnxImporter.read(file, OnnxOptions.defaults().withLoss(OnnxOptions.Loss.CE));
    }

    /** A row of a MemPlan sample model (its PyTorch twin in tools/pytorch/llama.py): the sample's JSON, copied. */
    public static ModelDef sampleModel(String modelJson, String sample) throws IOException {
        String path = "/fidelity/" + modelJson;
        try (InputStream in = FidelityData.class.getResourceAsStream(path)) {
            assertNotNull(in, path);
            return ModelJson.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "sample:" + sample);
        }
    }

    /** MemPlan's peak, each phase's peak and the bytes saved for backward against PyTorch's measured ones. */
    public static void checkProfile(String row, MemoryProfile p, JsonNode pytorch, double peak, double phase,
                                    double saved) {
        within(row, "peak", p.peakBytes(), pytorch.get("peakBytes").asLong(), peak);
        for (Phase ph : Phase.values()) {
            String k = ph.name().toLowerCase(Locale.ROOT);
            within(row, k + " peak", p.phasePeak(ph), pytorch.get("phasePeakBytes").get(k).asLong(), phase);
        }
        within(row, "saved for backward", p.savedBytes(), pytorch.get("saved").get("activationBytes").asLong(), saved);
    }

    public static void within(String row, String what, long memplan, long pytorch, double tolerance) {
        double ratio = (double) memplan / pytorch;
        assertTrue(Math.abs(ratio - 1) <= tolerance, String.format(Locale.ROOT,
                "%s: %s MemPlan %,d B / PyTorch %,d B = %.4f, outside 1 +- %.2f", row, what, memplan, pytorch, ratio,
                tolerance));
    }
}
