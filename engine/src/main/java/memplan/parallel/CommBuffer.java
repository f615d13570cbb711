package memplan.parallel;

import memplan.ir.TensorRole;

/**
 * A buffer the parallel engine allocates besides the model's tensors, as one rank holds it: {@code bytes} at its
 * largest, {@code count} pieces (DDP's buckets), and whether it stays for the whole iteration.
 */
public record CommBuffer(String name, TensorRole role, long bytes, int count, boolean persistent) {
}
