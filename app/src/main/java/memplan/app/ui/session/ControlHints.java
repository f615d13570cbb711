package memplan.app.ui.session;

import memplan.ir.Remediable;
import memplan.ir.Remedy;

/** The app's wording of an engine {@link Remedy}: which control to use (the CLI names its flags instead). */
public final class ControlHints {
    private ControlHints() {
    }

    /** Whether the exception names a remedy the app can word. */
    public static boolean hasRemedy(Throwable ex) {
        return ex instanceof Remediable e && e.remedy() != null;
    }

    /** The control that applies the remedy. */
    public static String hint(Remedy r) {
        return switch (r) {
            // the app opens ONNX files with the default import options; the command line converts with others
            case INPUT_SHAPE -> "convert the file with 'memplan import --input-shape' and open the result";
            case OUTPUT_NAME -> "convert the file with 'memplan import --output' and open the result";
            case KEEP_UNSUPPORTED_AS_OPAQUE -> "convert the file with 'memplan import --opaque' and open the result";
            case MSE_LOSS -> "convert the file with 'memplan import --loss mse' and open the result";
            case BATCH_SIZE -> "set Batch size in the Model tab";
            case DEVICE_MEMORY -> "more Device memory in the Run tab, a smaller Batch size, or a planner with a budget";
            case FP32 -> "choose Data type fp32 in the Model tab";
            case RECORD_STEP_TIMES -> "record step times with a run first";
        };
    }

    /** The message with the app's hint appended, if the exception names a remedy. */
    public static String withHint(Throwable ex) {
        return hasRemedy(ex) ? ex.getMessage() + " (" + hint(((Remediable) ex).remedy()) + ")" : ex.getMessage();
    }
}
