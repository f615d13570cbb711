package memplan.samples;

import memplan.io.ModelJson;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes every sample model's JSON into a directory: {@code GenerateSamples DIR}. The checked-in files live in
 * sample-models/src/main/resources/memplan/models/; regenerate them there after changing a builder.
 */
public final class GenerateSamples {
    private GenerateSamples() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: GenerateSamples OUTPUT_DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        for (String name : SampleModels.names()) {
            Path file = dir.resolve(name + ".json");
            Files.writeString(file, ModelJson.write(SampleModels.build(name)), StandardCharsets.UTF_8);
            System.out.println("wrote " + file);
        }
    }
}
