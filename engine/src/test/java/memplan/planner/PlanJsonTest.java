package memplan.planner;

import memplan.backend.Codec;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.plan.PlanFormatException;
import memplan.plan.PlanJson;
import memplan.train.Schedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Plan files round-trip exactly and bad ones get errors naming file, field and reason. */
class PlanJsonTest {
    @TempDir
    Path dir;

    static Schedule lenet() {
        return Zoo.schedule("lenet5", 16);
    }

    @Test
    void everyPlannersPlanRoundTrips() throws Exception {
        Schedule s = lenet();
        for (String name : Planners.names()) {
            Plan p = Planners.named(name, SolverLimits.DEFAULT.withTimeLimit(2)).plan(s, Planner.MIN_PEAK, Zoo.H100);
            Path f = dir.resolve(name + ".json");
            PlanJson.write(p, f);
            Plan back = PlanJson.read(f, s);
            assertArrayEquals(p.decisions(), back.decisions(), name);
            assertEquals(name, back.planner());
            assertEquals(PlanJson.write(p), PlanJson.write(back));
        }
    }

    @Test
    void allDecisionFieldsRoundTrip() {
        Schedule s = lenet();
        PlanContext ctx = new PlanContext(s, Zoo.H100);
        Plan p = Plan.baseline(s);
        int relu = -1, other = -1;
        for (int t = 0; t < s.tensorCount(); t++) {
            if (!ctx.saved(t)) continue;
            if (relu < 0 && Greedy.codecFor(ctx, t, false) == Codec.MASK_1BIT) relu = t;
            else if (other < 0 && s.tensor(t).kind() == memplan.train.TensorKind.ACTIVATION) other = t;
        }
        p = p.with(relu, new Decision.Compress(Codec.MASK_1BIT, 0.25, true));
        int lf = ctx.uses.lastForwardUse(other), fb = ctx.uses.firstBackwardUse(other);
        p = p.with(other, new Decision.Swap(lf, fb, lf));
        String text = PlanJson.write(p);
        Plan back = PlanJson.parse(text, "x.json", s);
        assertEquals(p.decision(relu), back.decision(relu));
        assertEquals(p.decision(other), back.decision(other));
        assertTrue(text.contains("\"prefetchAfter\" : " + lf));
        assertTrue(text.contains("\"density\" : 0.25"));
    }

    static String plan(Schedule s) {
        return PlanJson.write(Planners.named("checkpoint-sqrt").plan(s, Planner.MIN_PEAK, Zoo.H100));
    }

    static String error(String text, Schedule s) {
        return assertThrows(PlanFormatException.class, () -> PlanJson.parse(text, "bad.json", s)).getMessage();
    }

    @Test
    void truncatedJson() {
        Schedule s = lenet();
        String t = plan(s);
        String m = error(t.substring(0, t.length() / 2), s);
        assertTrue(m.startsWith("bad.json: not valid JSON at line "), m);
    }

    @Test
    void wrongVersionAndFormat() {
        Schedule s = lenet();
        String t = plan(s);
        assertEquals("bad.json: version: unsupported version 7 (this MemPlan reads version 1)", error(t.replace("\"version\" : 1", "\"version\" : 7"), s));
        assertTrue(error(t.replace("memplan-plan", "memplan-model"), s).startsWith("bad.json: format: expected \"memplan-plan\""));
        assertTrue(error("[1, 2]", s).contains("must be a JSON object"));
    }

    @Test
    void unknownTensor() {
        Schedule s = lenet();
        String t = plan(s);
        String first = t.substring(t.indexOf("\"tensor\" : \"") + 12);
        first = first.substring(0, first.indexOf('"'));
        String m = error(t.replaceFirst("\"tensor\" : \"" + java.util.regex.Pattern.quote(first) + "\"", "\"tensor\" : \"nope\""), s);
        assertEquals("bad.json: decisions[0].tensor: unknown tensor 'nope' (not in lenet5)", m);
    }

    @Test
    void wrongModelHash() {
        Schedule s = lenet();
        String t = plan(s);
        String m = error(t, Zoo.schedule("lenet5", 8));
        assertTrue(m.startsWith("bad.json: model.hash: the plan was made for another model or setting (lenet5, batch 16"), m);
        assertTrue(m.contains("does not apply to lenet5, batch 8"), m);
        assertTrue(error(t, Zoo.schedule("tiny-cnn", 16)).contains("model.hash"));
    }

    @Test
    void invalidDecisions() {
        Schedule s = lenet();
        String t = plan(s);
        assertTrue(error(t.replaceFirst("\"kind\" : \"recompute\"", "\"kind\" : \"teleport\""), s)
                .matches("bad\\.json: decisions\\[0\\]\\.kind: unknown decision 'teleport'.*"));
        // Recompute of the loss is invalid: the validator's reason is reported with the decision's index.
        String loss = s.tensor(s.lossTensor()).name();
        String withLoss = t.replace("\"decisions\" : [", "\"decisions\" : [ { \"tensor\" : \"" + loss + "\", \"kind\" : \"swap\", \"outAfter\" : 0 },");
        String m = error(withLoss, s);
        assertTrue(m.startsWith("bad.json: decisions[0]: invalid decision: tensor '" + loss + "' (swap): "), m);
        assertTrue(error(t.replaceFirst("\"kind\" : \"recompute\"", "\"kind\" : \"recompute\", \"codec\" : \"fp16\""), s)
                .contains("decisions[0].codec: unknown field for a recompute decision"));
        String swap = t.replace("\"decisions\" : [", "\"decisions\" : [ { \"tensor\" : \"conv1\", \"kind\" : \"swap\", \"inBefore\" : 99999 },");
        assertTrue(error(swap, s).contains("decisions[0].inBefore: step 99999 out of range"), error(swap, s));
    }

    @Test
    void readingAMissingFileNamesIt() {
        Path f = dir.resolve("missing.json");
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> PlanJson.read(f, lenet()));
        assertTrue(e.getMessage().startsWith(f + ": cannot read"), e.getMessage());
        assertTrue(Files.notExists(f));
    }
}
