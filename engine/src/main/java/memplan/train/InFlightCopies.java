package memplan.train;

/**
 * What the other micro-batches in flight on one pipeline stage hold of a schedule's tensors: per tensor id the bytes
 * of their copies ({@code extra} copies of a saved activation), held during the steps {@code fromStep..toStep} while
 * the plan keeps that tensor on the device. A plan that recomputes or swaps a tensor does so in every micro-batch, so
 * its copies go with it.
 */
public record InFlightCopies(long[] bytes, int fromStep, int toStep) {
    public InFlightCopies {
        bytes = bytes.clone();
    }

    public long bytes(int tensor) {
        return bytes[tensor];
    }

    public boolean during(int step) {
        return step >= fromStep && step <= toStep;
    }
}
