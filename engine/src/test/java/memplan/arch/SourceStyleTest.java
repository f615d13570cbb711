package memplan.arch;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The main code of every module keeps two habits the compiler does not check: lines of at most 120 characters,
 * and no fully-qualified class names inline in code (an import says what a file depends on; comments and strings
 * may name classes freely).
 */
class SourceStyleTest {
    static final int MAX_LINE = 120;
    static final Pattern INLINE_FQN = Pattern.compile("(?<![\\w.@\"])(?:java|javax|memplan|com|org|jcuda|javafx"
            + "|picocli)\\.(?:[a-z][a-z0-9_]*\\.)*[A-Z]\\w*");

    static List<Path> mainSources() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> out = new ArrayList<>();
        for (String module : List.of("engine", "sample-models", "cuda-backend", "app")) {
            Path src = root.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) continue;
            try (Stream<Path> s = Files.walk(src)) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(out::add);
            }
        }
        return out;
    }

    @Test
    void linesAreAtMost120Characters() throws IOException {
        List<String> bad = new ArrayList<>();
        List<Path> files = mainSources();
        assertTrue(files.size() > 100, "found the sources: " + files.size());
        for (Path f : files) {
            List<String> lines = Files.readAllLines(f);
            for (int i = 0; i < lines.size(); i++)
                if (lines.get(i).length() > MAX_LINE) bad.add(f.getFileName() + ":" + (i + 1));
        }
        assertTrue(bad.isEmpty(), "lines over " + MAX_LINE + " characters: " + bad);
    }

    @Test
    void noInlineFullyQualifiedNames() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path f : mainSources()) {
            List<String> lines = Files.readAllLines(f);
            boolean inComment = false;
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i).strip();
                if (inComment) {
                    if (l.contains("*/")) inComment = false;
                    continue;
                }
                if (l.startsWith("/*")) {
                    inComment = !l.contains("*/");
                    continue;
                }
                if (l.startsWith("import ") || l.startsWith("package ") || l.startsWith("//") || l.startsWith("*"))
                    continue;
                String code = stripStringsAndComments(l);
                if (INLINE_FQN.matcher(code).find()) bad.add(f.getFileName() + ":" + (i + 1) + ": " + l);
            }
        }
        assertTrue(bad.isEmpty(), "inline fully-qualified names (import them): " + bad);
    }

    /** The code of one line without its string and char literals and trailing comment. */
    static String stripStringsAndComments(String l) {
        StringBuilder b = new StringBuilder();
        char quote = 0;
        for (int i = 0; i < l.length(); i++) {
            char c = l.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '"' || c == '\'') quote = c;
            else if (c == '/' && i + 1 < l.length() && (l.charAt(i + 1) == '/' || l.charAt(i + 1) == '*')) break;
            else b.append(c);
        }
        return b.toString();
    }
}
