package memplan.samples;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** docs/sample-models.md lists every sample with its parameter count and default dims; keep it true. */
class DocsTableTest {
    @Test
    void tableMatchesTheModels() throws IOException {
        Path doc = Path.of("..", "docs", "sample-models.md");
        assertTrue(Files.exists(doc), "missing " + doc.toAbsolutePath());
        Map<String, String[]> rows = new LinkedHashMap<>();
        for (String line : Files.readAllLines(doc)) {
            if (!line.startsWith("| `")) continue;
            String[] cells = line.substring(1, line.length() - (line.endsWith("|") ? 1 : 0)).split("\\|");
            for (int i = 0; i < cells.length; i++) cells[i] = cells[i].trim();
            rows.put(cells[0].replace("`", ""), cells);
        }
        assertEquals(SampleModels.names(), new ArrayList<>(rows.keySet()), "the table lists the samples in order");
        for (var e : rows.entrySet()) {
            ModelDef m = SampleModels.load(e.getKey());
            String[] cells = e.getValue();
            assertEquals(6, cells.length, e.getKey());
            long params = Graph.instantiate(m, 1, DType.FP32).parameterCount();
            assertEquals(params, Long.parseLong(cells[4].replace(",", "")), e.getKey() + " parameters");
            List<String> dims = new ArrayList<>();
            m.dims().forEach((k, v) -> dims.add(k + "=" + v));
            assertEquals(dims.isEmpty() ? "-" : String.join(", ", dims), cells[3], e.getKey() + " default dims");
        }
    }
}
