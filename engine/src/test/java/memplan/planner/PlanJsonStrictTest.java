package memplan.planner;

import memplan.plan.PlanFormatException;
import memplan.plan.PlanJson;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Plan files are read strictly: text after the plan, a field given twice, a huge file are errors with the place. */
class PlanJsonStrictTest {
    private static final Schedule S = Zoo.schedule("lenet5", 4);

    private static String plan() {
        return PlanJson.write(Planners.named("checkpoint-sqrt").plan(S, Planner.MIN_PEAK, Zoo.H100));
    }

    private static String error(String text) {
        return assertThrows(PlanFormatException.class, () -> PlanJson.parse(text, "p.json", S)).getMessage();
    }

    @Test
    void textAfterThePlanIsAnError() {
        String m = error(plan() + "{\"decisions\": []}");
        assertTrue(m.startsWith("p.json: not valid JSON at line "), m);
        assertTrue(m.endsWith(": text after the end of the plan"), m);
    }

    @Test
    void decisionsGivenTwiceAreAnErrorNotTheLastOneWinning() {
        String p = plan();
        assertTrue(p.contains("\"decisions\" : [ {"), p);
        String m = error(p.replace("\"decisions\" : [", "\"decisions\" : [ ],\n  \"decisions\" : ["));
        assertTrue(m.contains("($.decisions): field 'decisions' is given twice"), m);
        String k = error(p.replaceFirst("\"kind\" : \"recompute\"", "\"kind\" : \"recompute\", \"kind\" : \"keep\""));
        assertTrue(k.contains("($.decisions[0].kind): field 'kind' is given twice"), k);
    }

    @Test
    void stepsBeyondIntAreErrors() {
        String p = PlanJson.write(Planners.named("swap").plan(S, Planner.MIN_PEAK, Zoo.H100));
        String m = error(p.replaceFirst("\"outAfter\" : \\d+", "\"outAfter\" : 4294967298"));
        assertTrue(m.contains("decisions[0].outAfter: not an integer step"), m);
    }

    @Test
    void aHugePlanFileIsRefusedUnread(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("huge.json");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(3L << 30);
        }
        assertEquals(f + ": cannot read: larger than 64 MiB, the limit for a plan file (is it the right file?)",
                assertThrows(PlanFormatException.class, () -> PlanJson.read(f, S)).getMessage());
        assertEquals(3L << 30, Files.size(f));
    }
}
