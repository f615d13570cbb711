package memplan.io;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.OpType;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** docs/model-format.md stays true: its complete example loads, every op has a section, its error examples are real. */
class ModelFormatDocTest {
    static final Path DOC = Path.of("..", "docs", "model-format.md");

    static List<String> blocks(String text, String lang) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("```" + lang + "\\n(.*?)```", Pattern.DOTALL).matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    void completeExampleLoadsAndTrains() throws IOException {
        String example = blocks(Files.readString(DOC), "json").get(0);
        ModelDef m = ModelJson.parse(example, "model-format.md example");
        assertEquals("tiny-rnn", m.name());
        Graph g = Graph.instantiate(m, 4, DType.FP32);
        assertEquals(2976, g.parameterCount(), "the parameter count the doc states");
        Schedule s = TrainingGraph.derive(g, Optimizer.ADAM);
        // Tied parameters: one embedding table and one LSTM cell, so 5 parameter updates.
        assertEquals(5, s.steps().stream().filter(st -> st.label().startsWith("update ")).count());
        assertEquals(ModelJson.write(m), ModelJson.write(ModelJson.parse(ModelJson.write(m), "again")));
    }

    @Test
    void everyOpHasASection() throws IOException {
        String doc = Files.readString(DOC);
        for (String op : OpType.names())
            assertTrue(Pattern.compile("^### .*\\b" + op + "\\b", Pattern.MULTILINE).matcher(doc).find(), "no section for " + op);
    }

    @Test
    void errorExamplesAreWhatTheLoaderSays() throws IOException {
        String doc = Files.readString(DOC);
        String errors = blocks(doc.substring(doc.indexOf("\n## Errors\n")), "").get(0);
        List<String> actual = List.of(
                ModelJsonErrorTest.error("\"out\": 3}", "\"out\": 3,,}").getMessage(),
                ModelJsonErrorTest.error("\"op\": \"Linear\"", "\"op\": \"Lineer\"").getMessage(),
                ModelJsonErrorTest.error(", \"out\": 3", "").getMessage(),
                ModelJsonErrorTest.error("\"out\": 3", "\"out\": \"3\"").getMessage(),
                ModelJsonErrorTest.error("\"out\": 3", "\"out\": 3, \"bais\": false").getMessage(),
                ModelJsonErrorTest.error("\"inputs\": [\"x\"]", "\"inputs\": [\"z\"]").getMessage(),
                ModelJsonErrorTest.error("{\"name\": \"loss\"", "{\"name\": \"fc\"").getMessage(),
                ModelJsonErrorTest.error("\"inputs\": [\"fc\", \"y\"]", "\"inputs\": [\"fc\"]").getMessage(),
                ModelJsonErrorTest.error("\"shape\": [\"N\"], \"dtype\"", "\"shape\": [\"N\", 3], \"dtype\"").getMessage(),
                ModelJsonErrorTest.error("\"layers\": [", "\"dims\": {\"T\": 0}, \"layers\": [").getMessage());
        for (String line : actual) assertTrue(errors.contains(line + "\n"), "the doc's error examples lack:\n" + line);
    }
}
