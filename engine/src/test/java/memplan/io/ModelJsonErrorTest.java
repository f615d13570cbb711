package memplan.io;

import memplan.graph.GraphException;
import memplan.ir.ModelException;
import memplan.ops.OpType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What ModelJson.parse says about broken model files: every message names the file, the location
 * (line/column for JSON syntax, "layers[i] (name)" for a layer) and the reason.
 */
class ModelJsonErrorTest {
    /** A valid model, one layer per line, that each case breaks in one place. */
    static final String GOOD = """
            {"format": "memplan-model", "version": 1, "name": "t", "layers": [
              {"name": "x", "op": "Input", "shape": ["N", 4]},
              {"name": "y", "op": "Input", "shape": ["N"], "dtype": "int64"},
              {"name": "fc", "op": "Linear", "inputs": ["x"], "out": 3},
              {"name": "loss", "op": "CrossEntropy", "inputs": ["fc", "y"]}
            ]}
            """;

    static ModelException error(String text) {
        return assertThrows(ModelException.class, () -> ModelJson.parse(text, "bad.json"));
    }

    static ModelException error(String from, String to) {
        assertTrue(GOOD.contains(from), from);
        return error(GOOD.replace(from, to));
    }

    static void check(ModelException e, String location, String reason) {
        assertEquals("bad.json", e.source());
        assertEquals(location, e.location());
        assertEquals(reason, e.reason());
        assertEquals("bad.json: at " + location + ": " + reason, e.getMessage());
    }

    @Test
    void theBaseModelParses() {
        assertEquals(4, ModelJson.parse(GOOD, "good.json").layers().size());
    }

    @Test
    void invalidJsonGivesLineAndColumn() {
        ModelException e = error("\"out\": 3}", "\"out\": 3,,}");
        assertTrue(e.location().startsWith("line 4, column "), e.location());
        assertTrue(e.getMessage().startsWith("bad.json: at line 4, column "), e.getMessage());
        assertTrue(e.reason().startsWith("invalid JSON: "), e.reason());
        ModelException truncated = error(GOOD.substring(0, GOOD.indexOf("{\"name\": \"fc\"")));
        assertTrue(truncated.location().startsWith("line 4"), truncated.getMessage());
    }

    @Test
    void trailingTextAndDuplicateKeysAreErrors() {
        ModelException trailing = error(GOOD + "\n{\"name\": \"extra\"}\n");
        assertTrue(trailing.location().startsWith("line 8, column "), trailing.getMessage());
        assertEquals("invalid JSON: text after the end of the model", trailing.reason());
        ModelException dup = error("{\"name\": \"fc\", ", "{\"name\": \"fc\", \"name\": \"fc2\", ");
        assertTrue(dup.location().startsWith("line 4, column "), dup.getMessage());
        assertEquals("invalid JSON: field 'name' is given twice", dup.reason());
        assertTrue(dup.location().endsWith("($.layers[2].name)"), dup.location());
    }

    @Test
    void aLayerNameMayContainAColon() {
        // "a:1" is first looked up as a layer name, then as output 1 of layer "a".
        String text = GOOD.replace("\"name\": \"fc\"", "\"name\": \"fc:1\"").replace("[\"fc\", \"y\"]", "[\"fc:1\", \"y\"]");
        assertEquals("fc:1", ModelJson.parse(text, "colon.json").layers().get(2).name());
    }

    @Test
    void unknownOpListsTheKnownOps() {
        ModelException e = error("\"op\": \"Linear\"", "\"op\": \"Lineer\"");
        assertEquals("layers[2] (fc).op", e.location());
        assertTrue(e.reason().startsWith("unknown op 'Lineer'; known ops: Input, Conv2d, Linear, "), e.reason());
        for (String op : OpType.names()) assertTrue(e.reason().contains(op), op);
    }

    @Test
    void missingField() {
        check(error(", \"out\": 3", ""), "layers[2] (fc).out", "missing required field 'out'");
        check(error("{\"name\": \"fc\", ", "{"), "layers[2]", "missing required field 'name'");
        check(error("\"op\": \"Linear\", ", ""), "layers[2] (fc)", "missing required field 'op'");
        check(error("{\"format\": \"memplan-model\", \"version\": 1, \"name\": \"t\"}"), "$", "missing required field 'layers'");
    }

    @Test
    void wrongFieldType() {
        check(error("\"out\": 3", "\"out\": \"3\""), "layers[2] (fc).out", "'out' must be an integer, got \"3\"");
        check(error("\"out\": 3", "\"out\": 3, \"bias\": \"no\""), "layers[2] (fc).bias", "'bias' must be true or false, got \"no\"");
        check(error("\"inputs\": [\"x\"]", "\"inputs\": \"x\""), "layers[2] (fc).inputs", "'inputs' must be a list of layer names");
        check(error("\"inputs\": [\"x\"]", "\"inputs\": [1]"), "layers[2] (fc).inputs[0]", "must be a layer name, got 1");
        check(error("\"shape\": [\"N\", 4]", "\"shape\": [\"N\", -4]"), "layers[0] (x).shape",
                "each dimension must be a non-negative integer or a symbol such as \"N\", got -4");
        check(error("\"dtype\": \"int64\"", "\"dtype\": \"int65\""), "layers[1] (y).dtype",
                "unknown dtype 'int65' (use float, fp32, fp16, bf16, int64, int32)");
        check(error("\"layers\": [", "\"dims\": {\"T\": 0}, \"layers\": ["), "$.dims.T", "must be a positive integer, got 0");
        check(error("\"layers\": [", "\"dims\": {\"T\": 2.5}, \"layers\": ["), "$.dims.T", "must be a positive integer, got 2.5");
        check(error("\"layers\": [", "\"dims\": {\"N\": 8}, \"layers\": ["), "$.dims.N",
                "N is the batch size, set when profiling; it has no default in the model");
        check(error("\"layers\": [", "\"dims\": {\"T\": \"8\"}, \"layers\": ["), "$.dims.T", "must be a positive integer, got \"8\"");
    }

    @Test
    void topLevelFieldTypes() {
        check(error("\"version\": 1", "\"version\": \"one\""), "$.version", "'version' must be an integer, got \"one\"");
        check(error("\"version\": 1", "\"version\": 1.5"), "$.version", "'version' must be an integer, got 1.5");
        check(error("\"version\": 1", "\"version\": 2"), "$.version", "unsupported version 2 (this MemPlan reads version 1)");
        check(error("\"name\": \"t\"", "\"name\": {\"a\": 1}"), "$.name", "'name' must be a string, got {\"a\":1}");
        check(error("\"name\": \"t\"", "\"name\": \"t\", \"description\": 7"), "$.description", "'description' must be a string, got 7");
        check(error("\"format\": \"memplan-model\"", "\"format\": \"onnx\""), "$.format", "expected \"memplan-model\", got \"onnx\"");
    }

    @Test
    void unknownAttribute() {
        check(error("\"out\": 3", "\"out\": 3, \"bais\": false"), "layers[2] (fc).bais",
                "unknown field 'bais' for op Linear (known: out, bias)");
        // A misspelt required attribute is reported as unknown, not as "missing required field 'out'".
        check(error("\"out\": 3", "\"ouy\": 3"), "layers[2] (fc).ouy", "unknown field 'ouy' for op Linear (known: out, bias)");
        check(error("\"inputs\": [\"fc\", \"y\"]", "\"inputs\": [\"fc\", \"y\"], \"axis\": 1"), "layers[3] (loss).axis",
                "unknown field 'axis' for op CrossEntropy (known: classAxis)");
        check(error("{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]}",
                        "{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]}, {\"name\": \"r\", \"op\": \"ReLU\", \"inputs\": [\"x\"], \"p\": 1}"),
                "layers[1] (r).p", "unknown field 'p' for op ReLU (it takes no attributes)");
    }

    @Test
    void danglingInput() {
        GraphException e = (GraphException) error("\"inputs\": [\"x\"]", "\"inputs\": [\"z\"]");
        check(e, "layers[2] (fc).inputs[0]", "dangling input 'z': no layer of that name");
        check(error("\"inputs\": [\"x\"]", "\"inputs\": [\"x:1\"]"), "layers[2] (fc).inputs[0]",
                "'x' has only 1 output(s), asked for output 1");
    }

    @Test
    void duplicateName() {
        check(error("{\"name\": \"loss\"", "{\"name\": \"fc\""), "layers[3] (fc)", "duplicate layer name 'fc' (first used at layers[2])");
    }

    @Test
    void cycle() {
        String text = """
                {"layers": [
                  {"name": "x", "op": "Input", "shape": ["N", 4]},
                  {"name": "a", "op": "Add", "inputs": ["x", "b"]},
                  {"name": "b", "op": "ReLU", "inputs": ["a"]}
                ]}
                """;
        check(error(text), "layers[1] (a)", "the layers [a, b] form a cycle");
        check(error(text.replace("[\"x\", \"b\"]", "[\"x\", \"a\"]")), "layers[1] (a).inputs[1]", "layer 'a' reads its own output (cycle)");
    }

    @Test
    void wrongArity() {
        check(error("\"inputs\": [\"fc\", \"y\"]", "\"inputs\": [\"fc\"]"), "layers[3] (loss).inputs", "CrossEntropy takes 2 inputs, got 1");
        check(error("\"inputs\": [\"x\"]", "\"inputs\": [\"x\", \"y\"]"), "layers[2] (fc).inputs", "Linear takes 1 input, got 2");
    }

    @Test
    void wrongShape() {
        check(error("\"shape\": [\"N\"], \"dtype\"", "\"shape\": [\"N\", 3], \"dtype\""), "layers[3] (loss)",
                "inputs [[1x3], [1x3]]: CrossEntropy: target must be [1] for logits [1x3] (class axis 1), got [1x3]");
        check(error("\"shape\": [\"N\", 4]", "\"shape\": [\"N\", \"T\"]"), "layers[0] (x)",
                "inputs []: Input: no value for dimension symbol 'T'");
    }

    @Test
    void indicesAndClassTargetsMustBeIntegers() {
        check(error("\"shape\": [\"N\"], \"dtype\": \"int64\"", "\"shape\": [\"N\"]"), "layers[3] (loss).inputs[1]",
                "CrossEntropy: input 1 must be an integer tensor (int64 or int32), got fp32 from 'y'; give its Input \"dtype\": \"int64\"");
        String emb = GOOD.replace("{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"x\"], \"out\": 3}",
                "{\"name\": \"e\", \"op\": \"Embedding\", \"inputs\": [\"x\"], \"num\": 10, \"dim\": 3}, {\"name\": \"fc\", \"op\": \"Flatten\", \"inputs\": [\"e\"]}");
        check(error(emb), "layers[2] (e).inputs[0]",
                "Embedding: input 0 must be an integer tensor (int64 or int32), got fp32 from 'x'; give its Input \"dtype\": \"int64\"");
        ModelJson.parse(emb.replace("\"shape\": [\"N\", 4]}", "\"shape\": [\"N\", 4], \"dtype\": \"int32\"}"), "ok.json");
    }

    @Test
    void tieErrors() {
        String base = GOOD.replace("\"out\": 3}", "\"out\": 3},\n  {\"name\": \"fc2\", \"op\": \"Linear\", \"inputs\": [\"fc\"], \"out\": 3, \"tie\": TIE}")
                .replace("[\"fc\", \"y\"]", "[\"fc2\", \"y\"]");
        assertEquals(5, ModelJson.parse(base.replace("TIE", "{}"), "ok.json").layers().size());
        check(error(base.replace("TIE", "{\"weight\": \"fc.weight\"}")), "layers[3] (fc2).tie.weight",
                "tied parameter 'fc.weight' has shape [3x4] but fc2.weight needs [3x3]");
        check(error(base.replace("TIE", "{\"bias\": \"nope.bias\"}")), "layers[3] (fc2).tie.bias",
                "tied parameter 'nope.bias' must be written 'layer.param' and name an existing layer");
        check(error(base.replace("TIE", "{\"bias\": \"fc.biass\"}")), "layers[3] (fc2).tie.bias", "no parameter 'fc.biass'");
        check(error(base.replace("TIE", "{\"gamma\": \"fc.bias\"}")), "layers[3] (fc2).tie.gamma", "Linear has no parameter 'gamma'");
    }

    @Test
    void fileErrorsNameTheFile(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.json");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelJson.read(missing));
        assertEquals(missing + ": file not found", e.getMessage());
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, GOOD.replace("\"out\": 3", "\"out\": 3.5"));
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> ModelJson.read(bad));
        assertEquals(bad + ": at layers[2] (fc).out: 'out' must be an integer, got 3.5", e2.getMessage());
        Path binary = dir.resolve("model.json");
        Files.write(binary, new byte[]{0x08, 0x07, (byte) 0xff, (byte) 0xfe, 0x12, 0x00});
        ModelFormatException e3 = assertThrows(ModelFormatException.class, () -> ModelJson.read(binary));
        assertTrue(e3.getMessage().startsWith(binary + ": not a UTF-8 text file"), e3.getMessage());
    }
}
