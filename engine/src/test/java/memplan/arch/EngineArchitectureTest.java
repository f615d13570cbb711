package memplan.arch;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Module boundaries of the engine: it runs without JavaFX or JCuda on the class path (the UI and the CUDA backend
 * live in their own modules), and it never prints: standard output belongs to the CLI (memplan.cli in app).
 */
class EngineArchitectureTest {
    static JavaClasses engine;

    @BeforeAll
    static void importEngine() {
        engine = new ClassFileImporter().importPath(Path.of("target", "classes")); // the engine's own classes, not its tests
    }

    @Test
    void importedTheEngine() {
        org.junit.jupiter.api.Assertions.assertTrue(engine.contain(memplan.train.TrainingGraph.class) && engine.contain(memplan.ops.Conv2d.class));
    }

    @Test
    void noJavaFx() {
        ArchRule r = noClasses().should().dependOnClassesThat().resideInAnyPackage("javafx..")
                .because("the engine must run headless; views live in the app module");
        r.check(engine);
    }

    @Test
    void noJCuda() {
        ArchRule r = noClasses().should().dependOnClassesThat().resideInAnyPackage("jcuda..")
                .because("the CUDA backend is found at run time (cuda-backend module), so the engine runs without it");
        r.check(engine);
    }

    @Test
    void noStandardOutput() {
        ArchRule r = noClasses()
                // Command-line micro-benchmarks of the CPU GEMM and convolutions, run by hand with their own main().
                .that().doNotHaveFullyQualifiedName("memplan.backend.cpu.MatmulBench")
                .and().doNotHaveFullyQualifiedName("memplan.backend.cpu.WinogradBench")
                .should().accessField(System.class, "out").orShould().accessField(System.class, "err")
                .orShould().callMethod(Throwable.class, "printStackTrace")
                .because("only the CLI (memplan.cli in app) prints; the engine reports through return values and exceptions");
        r.check(engine);
    }
}
