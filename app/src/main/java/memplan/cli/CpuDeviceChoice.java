package memplan.cli;

import memplan.calibration.CpuCalibration;
import memplan.calibration.CpuProbes;
import memplan.calibration.MachineKey;
import memplan.calibration.CalibrationCache;
import memplan.exec.ProgressListener;
import memplan.sim.DeviceModel;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The device model a command gets by name: the {@code cpu} device is the one calibrated on this machine (measured
 * at first use and cached); the others are presets. The system property {@code memplan.cpu.calibration=reference}
 * keeps the fixed preset instead (tests, and figures that must not depend on the machine).
 */
final class CpuDeviceChoice {
    private CpuDeviceChoice() {
    }

    static DeviceModel named(String name, PrintWriter err) {
        if (!name.toLowerCase(Locale.ROOT).equals("cpu") || reference()) return DeviceModel.preset(name);
        return calibration(err, false).device();
    }

    static boolean reference() {
        return "reference".equalsIgnoreCase(System.getProperty("memplan.cpu.calibration"));
    }

    /** The calibration, printing one line when it measures (first use, a stale or corrupt cache, or redo). */
    static CpuCalibration calibration(PrintWriter err, boolean redo) {
        MachineKey key = MachineKey.current(MemPlanCommand.VERSION);
        var file = CalibrationCache.defaultFile();
        CpuCalibration c = CpuCalibration.obtain(file, key, redo, (progress, cancelled) -> {
            err.println("note: calibrating the cpu device model on this machine (" + key.threads()
                    + " threads; 10-20 s, cached in " + file + ")");
            err.flush();
            return CpuProbes.measure(progress, cancelled);
        }, new ProgressListener() { }, () -> false);
        if (c.note() != null) err.println("note: " + c.note());
        return c;
    }
}
