package memplan.calibration;

/** Calibration could not finish (cancelled, or the probes failed on this machine). */
public final class CalibrationException extends RuntimeException {
    public CalibrationException(String message) {
        super(message);
    }
}
