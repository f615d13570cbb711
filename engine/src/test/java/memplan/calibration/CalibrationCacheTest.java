package memplan.calibration;

import memplan.backend.cpu.WinogradConv;
import memplan.exec.ProgressListener;
import memplan.io.ModelFormatException;
import memplan.sim.CpuCostModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-machine cache and when it is measured again; the probes are stood in for by synthetic results. */
class CalibrationCacheTest {
    static final MachineKey KEY = new MachineKey("Test CPU 9000 (amd64)", 2, 2, "Test VM 17", "0.1.0",
            "0123456789abcdef");
    static final CpuCostModel MODEL = CpuFit.fit(CpuFitTest.synthetic(CpuFitTest.TRUTH));

    @TempDir
    Path dir;

    /** A measurer that counts its calls and returns the probe times whose fit is {@link #MODEL}. */
    static final class Counting implements CpuCalibration.Measurer {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public ProbeResults measure(ProgressListener progress, BooleanSupplier cancelled) {
            calls.incrementAndGet();
            return CpuFitTest.synthetic(CpuFitTest.TRUTH);
        }
    }

    @Test
    void roundTripKeepsEveryFigureAndTheKey() {
        Path f = dir.resolve("sub/dir/cpu-calibration.json");
        CalibrationCache.write(f, new CalibrationCache.Entry(KEY, MODEL, 2.5));
        CalibrationCache.Entry e = CalibrationCache.read(f);
        assertEquals(KEY, e.key());
        assertEquals(MODEL, e.model());
        assertEquals(2.5, e.probeSeconds());
    }

    @Test
    void aWriteReplacesTheWholeFileAndLeavesNoTemporaryFileBehind() throws IOException {
        Path f = dir.resolve("cpu-calibration.json");
        Files.writeString(f, "x".repeat(10_000)); // longer than what replaces it
        CalibrationCache.write(f, new CalibrationCache.Entry(KEY, MODEL, 1));
        assertEquals(MODEL, CalibrationCache.read(f).model());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void aCorruptFileIsReportedWithItsNameAndPlace() throws IOException {
        Path f = dir.resolve("cpu-calibration.json");
        Files.writeString(f, "{\"format\": \"memplan-cpu-calibration\", \"version\": 1,");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CalibrationCache.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().endsWith("invalid JSON: the cpu calibration ends before its JSON is complete"),
                e.getMessage());
        CalibrationCache.write(f, new CalibrationCache.Entry(KEY, MODEL, 1));
        String good = Files.readString(f);
        Files.writeString(f, good.replaceFirst("\"callSeconds\" : [0-9.eE-]+", "\"callSeconds\" : -1"));
        e = assertThrows(ModelFormatException.class, () -> CalibrationCache.read(f));
        assertTrue(e.getMessage().contains("$.model") && e.getMessage().contains("per-call cost must be a "
                + "non-negative time, got -1.0"), e.getMessage());
        Files.writeString(f, good.replaceFirst("\"class\" : \"[a-z]+\"", "\"class\" : \"warp\""));
        e = assertThrows(ModelFormatException.class, () -> CalibrationCache.read(f));
        assertTrue(e.getMessage().contains("$.model.classes[0].class") && e.getMessage().contains("warp"),
                e.getMessage());
        Files.writeString(f, good.replaceFirst("\"flopsPerSecond\" : [0-9.eE-]+", "\"flopsPerSecond\" : \"x\""));
        e = assertThrows(ModelFormatException.class, () -> CalibrationCache.read(f));
        assertTrue(e.getMessage().contains("$.model.products[0].flopsPerSecond") && e.getMessage().contains(
                "missing or not a number"), e.getMessage());
        Files.writeString(f, "{\"format\": \"memplan-model\"}");
        e = assertThrows(ModelFormatException.class, () -> CalibrationCache.read(f));
        assertTrue(e.getMessage().contains("$.format"), e.getMessage());
    }

    @Test
    void theFirstUseMeasuresAndCachesTheNextReads() {
        Path f = dir.resolve("c.json");
        Counting m = new Counting();
        CpuCalibration first = CpuCalibration.obtain(f, KEY, false, m, new ProgressListener() { }, () -> false);
        assertTrue(first.measured());
        assertNull(first.note());
        assertEquals(MODEL, first.model());
        CpuCalibration second = CpuCalibration.obtain(f, KEY, false, m, new ProgressListener() { }, () -> false);
        assertFalse(second.measured());
        assertEquals(1, m.calls.get());
        assertEquals(first.model(), second.model());
        assertEquals("cpu", second.device().name());
        assertEquals(first.model(), second.device().cpuCosts());
        // redo measures even with a good cache
        assertTrue(CpuCalibration.obtain(f, KEY, true, m, new ProgressListener() { }, () -> false).measured());
        assertEquals(2, m.calls.get());
    }

    @Test
    void aCacheOfAnotherMachineOrVersionIsMeasuredAgainWithANote() {
        Path f = dir.resolve("c.json");
        CalibrationCache.write(f, new CalibrationCache.Entry(new MachineKey("Other CPU", 2, 2, "Test VM 17",
                "0.1.0", KEY.kernels()), MODEL, 1));
        Counting m = new Counting();
        CpuCalibration c = CpuCalibration.obtain(f, KEY, false, m, new ProgressListener() { }, () -> false);
        assertTrue(c.measured());
        assertEquals("the cpu calibration in " + f + " was measured on another setup (CPU Other CPU -> "
                + KEY.cpuModel() + "); measuring again", c.note());
        assertEquals(KEY, CalibrationCache.read(f).key()); // rewritten for this machine
        CalibrationCache.write(f, new CalibrationCache.Entry(new MachineKey(KEY.cpuModel(), 2, 2, "Test VM 17",
                "0.0.9", KEY.kernels()), MODEL, 1));
        c = CpuCalibration.obtain(f, KEY, false, m, new ProgressListener() { }, () -> false);
        assertTrue(c.note().contains("MemPlan 0.0.9 -> 0.1.0"), c.note());
        assertEquals("threads 4 -> 2", KEY.difference(new MachineKey(KEY.cpuModel(), 2, 4, "Test VM 17", "0.1.0",
                KEY.kernels())));
        // a build with other kernels under the same version number
        assertEquals("CPU kernels fedcba9876543210 -> " + KEY.kernels(), KEY.difference(new MachineKey(
                KEY.cpuModel(), 2, 2, "Test VM 17", "0.1.0", "fedcba9876543210")));
        assertNull(KEY.difference(KEY));
        assertEquals(2, m.calls.get());
    }

    @Test
    void aCorruptCacheIsMeasuredAgainWithANote() throws IOException {
        Path f = dir.resolve("c.json");
        Files.writeString(f, "not json");
        Counting m = new Counting();
        CpuCalibration c = CpuCalibration.obtain(f, KEY, false, m, new ProgressListener() { }, () -> false);
        assertTrue(c.measured());
        assertTrue(c.note().startsWith("the cpu calibration in " + f + " is unreadable ("), c.note());
        assertTrue(c.note().endsWith("); measuring again"), c.note());
        assertEquals(MODEL, CalibrationCache.read(f).model());
    }

    @Test
    void aCacheThatCannotBeWrittenIsNotedAndTheFiguresAreStillUsed() throws IOException {
        Path blocker = dir.resolve("file");
        Files.writeString(blocker, "a file where the cache folder would be");
        Path f = blocker.resolve("c.json");
        CpuCalibration c = CpuCalibration.obtain(f, KEY, false, new Counting(), new ProgressListener() { },
                () -> false);
        assertTrue(c.measured());
        assertTrue(c.note().startsWith("could not cache the calibration: "), c.note());
        assertEquals(MODEL.memoryBytesPerSecond(), c.model().memoryBytesPerSecond(), 1e-3);
    }

    @Test
    void thisMachinesKeyNamesItsKernelsBuild() {
        MachineKey k = MachineKey.current("0.1.0");
        assertEquals(16, k.kernels().length(), k.kernels());
        assertEquals(k, MachineKey.current("0.1.0"));
        assertTrue(k.cores() > 0 && k.threads() > 0 && !k.cpuModel().isBlank());
        // the same kernels with Winograd's convolutions switched off time otherwise: another key
        boolean was = WinogradConv.isEnabled();
        try {
            WinogradConv.setEnabled(!was);
            assertNotEquals(k, MachineKey.current("0.1.0"));
        } finally {
            WinogradConv.setEnabled(was);
        }
    }

    @Test
    void theDefaultFileIsUnderTheCacheFolderGiven() {
        String old = System.getProperty("memplan.cache.dir");
        try {
            System.setProperty("memplan.cache.dir", dir.toString());
            assertEquals(dir.resolve("cpu-calibration.json"), CalibrationCache.defaultFile());
        } finally {
            if (old == null) System.clearProperty("memplan.cache.dir");
            else System.setProperty("memplan.cache.dir", old);
        }
    }
}
