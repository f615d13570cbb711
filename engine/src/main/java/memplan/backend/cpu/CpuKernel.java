package memplan.backend.cpu;

/**
 * A CPU kernel of one op. Kernels are stateless (one instance per op may be shared) and deterministic: the same
 * inputs give bit-identical results whatever the number of threads.
 */
public interface CpuKernel {
    void forward(ForwardArgs a);

    void backward(BackwardArgs a);
}
