package memplan.backend.cpu;

import memplan.backend.BackendException;

/** A sparse-encoded activation had more non-zeros than the capacity its plan gave it. */
public class SparseCapacityException extends BackendException {
    private final String tensor;
    private final long nonzeros;
    private final long capacity;
    private final long numel;

    public SparseCapacityException(String tensor, long nonzeros, long capacity, long numel, double plannedDensity) {
        super(String.format("sparse encoding of '%s' overflowed: %d non-zeros of %d elements (density %.4f) but the "
                + "plan "
                        + "reserved room for %d (density %.4f); plan with a higher density or keep this tensor dense",
                tensor, nonzeros, numel, numel == 0 ? 0.0 : (double) nonzeros / numel, capacity, plannedDensity));
        this.tensor = tensor;
        this.nonzeros = nonzeros;
        this.capacity = capacity;
        this.numel = numel;
    }

    public String tensor() { return tensor; }
    public long nonzeros() { return nonzeros; }
    public long capacity() { return capacity; }
    public long numel() { return numel; }

    public double actualDensity() {
        return numel == 0 ? 0.0 : (double) nonzeros / numel;
    }
}
