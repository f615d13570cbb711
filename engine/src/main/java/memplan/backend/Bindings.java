package memplan.backend;

/**
 * Where a kernel finds its tensors: byte offsets into the device arena, -1 where a tensor is absent (not needed,
 * freed by the plan, or no gradient wanted). Arrays follow the node's inputs, outputs, params and aux in order.
 * For a backward kernel: gradOut per output, gradIn per input, gradParams per param (-1 for buffers), and whether
 * each gradient is accumulated into (true) or overwritten (false).
 */
public record Bindings(long[] in, long[] out, long[] params, long[] aux, long workspace,
                       long[] gradOut, long[] gradIn, long[] gradParams, boolean[] accumulateIn,
                               boolean[] accumulateParams) {

    public static Bindings forward(long[] in, long[] out, long[] params, long[] aux, long workspace) {
        return new Bindings(in, out, params, aux, workspace, null, null, null, null, null);
    }
}
