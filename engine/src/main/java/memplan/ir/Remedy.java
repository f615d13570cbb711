package memplan.ir;

/**
 * What the user can change to get past a problem, named by the engine and worded by whoever shows the message:
 * the command line names its flag ("--input-shape"), the app its control ("Input shapes in the Import dialog").
 * Engine messages therefore speak of the model and the device only.
 */
public enum Remedy {
    /** Give a model input's shape (its symbolic dimensions). */
    INPUT_SHAPE,
    /** Name which graph output the loss is attached to. */
    OUTPUT_NAME,
    /** Keep operators MemPlan does not model as opaque placeholders. */
    KEEP_UNSUPPORTED_AS_OPAQUE,
    /** Train the output with a mean-squared-error loss instead of cross-entropy. */
    MSE_LOSS,
    /** Set the batch size when profiling. */
    BATCH_SIZE,
    /** Give the device more memory, or the run a smaller batch or a planner with a budget. */
    DEVICE_MEMORY,
    /** Run training with fp32 tensors. */
    FP32,
    /** Record measured step times with a real run first. */
    RECORD_STEP_TIMES
}
