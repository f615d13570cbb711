package memplan.app.ui;

import memplan.app.ui.session.RecentFiles;
import memplan.app.ui.session.SessionViewModel;
import memplan.app.ui.table.Technique;
import memplan.app.ui.task.DirectTaskRunner;
import memplan.plan.Decision;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The session view model without a screen: open, profile, edit a plan, errors. */
class UiSessionViewModelTest {
    static SessionViewModel session() {
        return new SessionViewModel(new DirectTaskRunner(), new RecentFiles(null));
    }

    @Test
    void opensASampleAndProfilesIt() {
        SessionViewModel s = session();
        s.batchProperty().set(8);
        s.openSample("tiny-cnn");
        assertEquals("", s.errorProperty().get());
        assertNotNull(s.analysis());
        assertNotNull(s.evaluation());
        assertNotNull(s.plan());
        assertEquals(8, s.analysis().graph().batch());
        assertTrue(s.evaluation().peakBytes() > 0);
        assertEquals(s.evaluation().timeline().points(), s.evaluation().timeline().labels().length);
        assertTrue(s.statusProperty().get().contains("tensors"));
    }

    @Test
    void exportsThePlanAsAPyTorchModule(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        SessionViewModel s = session();
        s.batchProperty().set(2);
        s.openSample("tiny-cnn");
        java.nio.file.Path f = dir.resolve("memplan_plan.py");
        s.exportPyTorch(f);
        assertEquals("", s.errorProperty().get());
        String py = java.nio.file.Files.readString(f);
        assertTrue(py.contains("def apply(model)") && py.contains("DECISIONS = ["), py.substring(0, 200));
        assertTrue(s.statusProperty().get().contains("for PyTorch"), s.statusProperty().get());
        s.exportPyTorch(dir.resolve("missing-dir").resolve("x.py"));
        assertTrue(s.errorProperty().get().startsWith("Could not save"), s.errorProperty().get());
    }

    @Test
    void dimensionSymbolsSetTheSequenceLength() {
        SessionViewModel s = session();
        s.batchProperty().set(2);
        s.openSample("tiny-transformer");
        long defaultPeak = s.evaluation().peakBytes();
        assertEquals(16, s.analysis().graph().symbols().get("T"));
        s.dimsProperty().set("T=8");
        s.reprofile();
        assertEquals("", s.errorProperty().get());
        assertEquals(8, s.analysis().graph().symbols().get("T"));
        assertTrue(s.evaluation().peakBytes() < defaultPeak, "a shorter sequence needs less memory");
        s.openSample("tiny-cnn"); // has no T: the setting does not apply and is no error
        assertEquals("", s.errorProperty().get());
        s.dimsProperty().set("T=oops");
        s.reprofile();
        assertTrue(s.errorProperty().get().contains("not SYMBOL=VALUE"), s.errorProperty().get());
    }

    @Test
    void aBrokenFileGivesAReadableMessage(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"format\": \"memplan-model\", \"version\": 1, \"name\": \"bad\", \"layers\": ["
                + "{\"name\": \"x\", \"op\": \"Input\", \"shape\": [\"N\", 4]},"
                + "{\"name\": \"fc\", \"op\": \"Linear\", \"inputs\": [\"nope\"], \"out\": 3}]}");
        SessionViewModel s = session();
        s.openFile(bad);
        String e = s.errorProperty().get();
        assertTrue(e.contains("bad.json") && e.contains("nope"), e);
        assertFalse(e.contains("Exception"), e);
        assertNull(s.analysis());
        Path notJson = dir.resolve("x.json");
        Files.writeString(notJson, "{ layers: ");
        s.openFile(notJson);
        assertTrue(s.errorProperty().get().contains("invalid JSON"), s.errorProperty().get());
    }

    @Test
    void opensOnnxFilesAndExplainsBrokenOnes(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("tiny.onnx");
        memplan.onnx.OnnxExporter.write(memplan.samples.SampleModels.load("tiny-mlp"), 17, good, false);
        SessionViewModel s = session();
        s.openFile(good);
        assertEquals("", s.errorProperty().get());
        assertNotNull(s.analysis());
        Path bad = dir.resolve("broken.onnx");
        Files.write(bad, new byte[]{1, 2, 3, 4, 5, 6, 7});
        s.openFile(bad);
        String e = s.errorProperty().get();
        assertTrue(e.contains("broken.onnx"), e);
    }

    @Test
    void recentFilesRememberOpenedModels(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.json");
        try (var in = UiSessionViewModelTest.class.getResourceAsStream("tiny-cnn.json")) {
            Files.write(f, in.readAllBytes());
        }
        SessionViewModel s = session();
        s.openFile(f);
        assertEquals("", s.errorProperty().get());
        assertEquals(f.toAbsolutePath().normalize(), s.recent().files().get(0));
    }

    @Test
    void recomputingASavedActivationLowersThePeak() {
        SessionViewModel s = session();
        s.openSample("tiny-cnn");
        long before = s.evaluation().peakBytes();
        int t = savedActivationLiveAtPeak(s);
        assertTrue(s.setTechnique(t, Technique.RECOMPUTE), s.errorProperty().get());
        assertTrue(s.plan().decision(t) instanceof Decision.Recompute);
        assertTrue(s.evaluation().peakBytes() < before, s.evaluation().peakBytes() + " vs " + before);
        assertTrue(s.evaluation().timeline().markers().stream().anyMatch(m -> m.tensor() == t || m.label().contains("recompute")));
        assertTrue(s.setTechnique(t, Technique.KEEP));
        assertEquals(before, s.evaluation().peakBytes());
    }

    @Test
    void aTechniqueThatCannotApplySaysWhyAndNamesTheTensor() {
        SessionViewModel s = session();
        s.openSample("tiny-cnn");
        int weight = -1;
        for (TensorInfo ti : s.analysis().schedule().tensors()) if (ti.kind() == TensorKind.PARAM) weight = ti.id();
        var plan = s.plan();
        assertFalse(s.setTechnique(weight, Technique.SWAP));
        assertSame(plan, s.plan());
        String e = s.errorProperty().get();
        assertTrue(e.contains(s.analysis().schedule().tensor(weight).name()), e);
    }

    @Test
    void selectingALayerHighlightsItsTensors() {
        SessionViewModel s = session();
        s.openSample("tiny-cnn");
        s.selectedNodeProperty().set(2);
        int[] h = s.highlightedProperty().get();
        assertTrue(h.length > 0);
        for (int t : h) assertEquals(2, s.analysis().nodeOf(t));
        s.selectedNodeProperty().set(-1);
        s.selectedTensorProperty().set(h[0]);
        assertArrayEquals(new int[]{h[0]}, s.highlightedProperty().get());
    }

    static int savedActivationLiveAtPeak(SessionViewModel s) {
        var a = s.analysis();
        int best = -1;
        int peak = a.profile().peakStep();
        for (TensorInfo ti : a.schedule().tensors())
            if (ti.kind() == TensorKind.ACTIVATION && a.savedForBackward(ti.id()) && a.liveness().liveAt(ti.id(), peak)
                    && a.nodeOf(ti.id()) >= 0 && !a.graph().nodes().get(a.nodeOf(ti.id())).op().type().equals("Input")
                    && (best < 0 || ti.bytes() > a.schedule().tensor(best).bytes())) {
                var probs = memplan.plan.PlanValidator.problems(s.plan().with(ti.id(), Decision.RECOMPUTE));
                if (probs.isEmpty()) best = ti.id();
            }
        return best;
    }
}
