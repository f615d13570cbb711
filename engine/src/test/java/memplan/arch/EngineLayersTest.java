package memplan.arch;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's packages form layers, lowest first; a package may use the ones below it and never one above. The
 * four arrows that once pointed upwards (ir to ops, ops and graph to io, lower to sim) have rules of their own so a
 * regression names itself.
 */
class EngineLayersTest {
    /** Lowest first. Sub-packages (backend.cpu) belong to their parent's layer. */
    static final List<String> LAYERS = List.of("units", "ir", "ops", "model", "graph", "io", "framework", "train", "profile",
            "backend", "plan", "lower", "sim", "exec", "calibration", "planner", "parallel", "onnx", "export");

    static JavaClasses engine;

    @BeforeAll
    static void importEngine() {
        engine = new ClassFileImporter().importPath(Path.of("target", "classes"));
    }

    @Test
    void everyPackageHasALayer() {
        engine.stream().map(c -> c.getPackageName()).distinct().forEach(p -> {
            String top = p.replaceFirst("^memplan\\.", "").split("\\.")[0];
            assertTrue(LAYERS.contains(top), "package " + p + " has no layer in EngineLayersTest.LAYERS");
        });
    }

    @Test
    void noPackageUsesOneAboveIt() {
        for (int i = 0; i < LAYERS.size(); i++) {
            String[] above = LAYERS.subList(i + 1, LAYERS.size()).stream().map(l -> "memplan." + l + "..")
                    .toArray(String[]::new);
            if (above.length == 0) continue;
            noClasses().that().resideInAPackage("memplan." + LAYERS.get(i) + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(above)
                    .because("memplan." + LAYERS.get(i) + " sits below " + String.join(", ", above))
                    .check(engine);
        }
    }

    @Test
    void irDoesNotUseOps() {
        rule("memplan.ir..", "memplan.ops..", "ops are built from ir types, not the other way round").check(engine);
    }

    @Test
    void opsAndGraphDoNotUseTheFileFormats() {
        rule("memplan.ops..", "memplan.io..", "ops throw their own exceptions; io adds file and place").check(engine);
        rule("memplan.graph..", "memplan.io..", "the graph throws GraphException; io adds file and place")
                .check(engine);
    }

    @Test
    void loweringDoesNotUseTheSimulator() {
        rule("memplan.lower..", "memplan.sim..", "lowering takes StepCosts; the simulator runs its result")
                .check(engine);
    }

    private static ArchRule rule(String from, String to, String why) {
        return noClasses().that().resideInAPackage(from).should().dependOnClassesThat().resideInAPackage(to)
                .because(why);
    }
}
