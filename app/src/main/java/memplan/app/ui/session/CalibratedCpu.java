package memplan.app.ui.session;

import memplan.app.ui.task.Progress;
import memplan.calibration.CalibrationCache;
import memplan.calibration.CpuCalibration;
import memplan.calibration.CpuProbes;
import memplan.calibration.MachineKey;
import memplan.cli.MemPlanCommand;
import memplan.exec.ProgressListener;
import memplan.sim.DeviceModel;

/**
 * The app's {@code cpu} device model: calibrated on this machine (the probes at first use, then the cache), as the
 * CLI's. Call it from background work only: probing takes seconds. The system property
 * {@code memplan.cpu.calibration=reference} keeps the fixed preset (tests).
 */
public final class CalibratedCpu {
    private CalibratedCpu() {
    }

    public static DeviceModel obtain(Progress p) {
        if ("reference".equalsIgnoreCase(System.getProperty("memplan.cpu.calibration")))
            return DeviceModel.preset("cpu");
        return CpuCalibration.obtain(CalibrationCache.defaultFile(), MachineKey.current(MemPlanCommand.VERSION),
                false, (progress, cancelled) -> {
                    p.message("Calibrating the cpu device model on this machine (first use, 10-20 s)\u2026");
                    return CpuProbes.measure(progress, cancelled);
                }, new ProgressListener() {
                    @Override
                    public void progress(double fraction, String what) {
                        p.update(fraction, 1);
                    }
                }, p::isCancelled).device();
    }
}
