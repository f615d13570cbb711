package memplan.cli;

import memplan.ir.Remediable;
import memplan.ir.Remedy;

/** The command line's wording of an engine {@link Remedy}: which flag to use. */
final class FlagHints {
    private FlagHints() {
    }

    /** The flag that applies the remedy ({@code detail}: its value when the engine knows one, else null). */
    static String hint(Remedy r, String detail) {
        return switch (r) {
            case INPUT_SHAPE -> "use --input-shape " + (detail != null ? detail : "NAME=AxB...");
            case OUTPUT_NAME -> "use --output NAME";
            case KEEP_UNSUPPORTED_AS_OPAQUE -> "use --opaque";
            case MSE_LOSS -> "use --loss mse";
            case BATCH_SIZE -> "use --batch N";
            case DEVICE_MEMORY -> "use --device-memory, a smaller --batch, or --planner with --budget";
            case FP32 -> "use --dtype fp32";
            case RECORD_STEP_TIMES -> "write one with 'memplan run --save-step-times FILE'";
        };
    }

    /** The error line with its flag hint, if the exception names a remedy. */
    static String withHint(Throwable ex) {
        if (!(ex instanceof Remediable e) || e.remedy() == null) return ex.getMessage();
        return ex.getMessage() + " (" + hint(e.remedy(), e.remedyDetail()) + ")";
    }
}
