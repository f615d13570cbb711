package memplan.calibration;

import memplan.exec.ProgressListener;
import memplan.io.FileWriteException;
import memplan.io.ModelFormatException;
import memplan.sim.CpuCostModel;
import memplan.sim.DeviceModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

/**
 * The {@code cpu} device model of this machine: from the cache when it was measured on the same machine, else
 * measured by the probes, fitted and cached. A cache that cannot be read or belongs to another machine is measured
 * again, and the result says why in {@code note}.
 *
 * @param measured whether the probes ran now (false: read from the cache)
 * @param note     one line on what happened to the cache, or null when it was used as it was
 */
public record CpuCalibration(DeviceModel device, CpuCostModel model, MachineKey key, Path file, boolean measured,
                             String note, ProbeResults probes) {

    /** What measuring does, so tests can stand in for the probes. */
    public interface Measurer {
        ProbeResults measure(ProgressListener progress, BooleanSupplier cancelled);
    }

    /** The calibration of this machine from the default cache file, probing when needed. */
    public static CpuCalibration obtain(String memplanVersion, ProgressListener progress) {
        return obtain(CalibrationCache.defaultFile(), MachineKey.current(memplanVersion), false,
                CpuProbes::measure, progress, () -> false);
    }

    /**
     * The calibration for {@code key}: the cached one in {@code file} unless {@code redo}, it is missing, unreadable
     * or of another key; then measured, and written to {@code file} (a cache that cannot be written is noted, not
     * fatal: the figures are still good for this process).
     */
    public static CpuCalibration obtain(Path file, MachineKey key, boolean redo, Measurer measurer,
                                        ProgressListener progress, BooleanSupplier cancelled) {
        String note = null;
        if (!redo && Files.exists(file)) {
            try {
                CalibrationCache.Entry e = CalibrationCache.read(file);
                String diff = key.difference(e.key());
                if (diff == null)
                    return new CpuCalibration(DeviceModel.calibratedCpu(e.model()), e.model(), key, file, false,
                            null, null);
                note = "the cpu calibration in " + file + " was measured on another setup (" + diff
                        + "); measuring again";
            } catch (ModelFormatException ex) {
                note = "the cpu calibration in " + file + " is unreadable (" + ex.getMessage() + "); measuring again";
            }
        }
        ProbeResults probes = measurer.measure(progress, cancelled);
        CpuCostModel model = CpuFit.fit(probes);
        try {
            CalibrationCache.write(file, new CalibrationCache.Entry(key, model, probes.elapsedSeconds()));
        } catch (FileWriteException | CalibrationException ex) {
            note = (note == null ? "" : note + "; ") + "could not cache the calibration: " + ex.getMessage();
        }
        return new CpuCalibration(DeviceModel.calibratedCpu(model), model, key, file, true, note, probes);
    }
}
