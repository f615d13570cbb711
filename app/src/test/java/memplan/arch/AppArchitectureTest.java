package memplan.arch;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** In the app module only the CLI prints to standard output or error (views show, they do not print). */
class AppArchitectureTest {
    @Test
    void onlyTheCliPrints() {
        JavaClasses app = new ClassFileImporter().importPath(Path.of("target/classes"));
        noClasses().that().resideOutsideOfPackage("memplan.cli..")
                // Says why the desktop app cannot open, before any window exists.
                .and().doNotHaveFullyQualifiedName("memplan.app.DesktopLauncher")
                .should().accessField(System.class, "out").orShould().accessField(System.class, "err")
                .orShould().callMethod(Throwable.class, "printStackTrace")
                .because("standard output belongs to the CLI (memplan.cli)")
                .check(app);
    }
}
