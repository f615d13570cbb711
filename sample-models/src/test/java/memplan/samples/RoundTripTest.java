package memplan.samples;

import memplan.io.ModelJson;
import memplan.model.ModelDef;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** ModelJson.write then ModelJson.parse gives back an equal model, for every sample. */
class RoundTripTest {
    static List<String> names() {
        return SampleModels.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void writeParseGivesAnEqualModel(String name) {
        ModelDef built = SampleModels.build(name);
        String text = ModelJson.write(built);
        ModelDef parsed = ModelJson.parse(text, "roundtrip:" + name);
        assertEquals(text, ModelJson.write(parsed));
        // Layers, ops (records), ties and dims compare equal too, not only their text.
        assertEquals(built.withSource("x"), parsed.withSource("x"));
    }
}
