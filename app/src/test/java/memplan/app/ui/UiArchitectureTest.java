package memplan.app.ui;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** View models, the graph layout and the timeline data know no JavaFX scene-graph types, so they test without a screen. */
class UiArchitectureTest {
    @Test
    void viewModelsAndLayoutUseNoSceneGraph() {
        JavaClasses ui = new ClassFileImporter().importPath(Path.of("target/classes/memplan/app/ui"));
        noClasses().that().haveSimpleNameEndingWith("ViewModel")
                .or().resideInAPackage("memplan.app.ui.session..")
                .or().resideInAPackage("memplan.app.ui.task..")
                .or().haveSimpleName("GraphLayout").or().haveSimpleName("TimelineData")
                .or().haveSimpleName("ProfileTimeline").or().haveSimpleName("SimTimeline")
                .or().haveSimpleName("Lessons").or().haveSimpleName("EnginePlanners")
                .should().dependOnClassesThat().resideInAnyPackage("javafx.scene..", "javafx.stage..")
                .because("views bind and draw; view models hold state and are tested without a screen")
                .check(ui);
    }
}
