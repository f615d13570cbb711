package memplan.backend.cpu;

import memplan.graph.Node;

/**
 * Tensors of one backward call. Entries are null when absent: inputs, outputs, params and aux that the op's
 * {@code backwardNeeds()} does not declare are null (a memory plan may have freed them); gradIn[k] null = no
 * gradient wanted for input k; gradParams[p] null for buffers; gradOut[k] null = that output's gradient is zero
 * (for a loss: implicitly 1). accumulate flags: true adds into the existing gradient, false overwrites it.
 * gradIn may alias gradOut for elementwise ops. Arrays themselves may be null when the node has none.
 */
public record BackwardArgs(Node node, Buf[] in, Buf[] out, Buf[] params, Buf[] aux, Buf[] gradOut, Buf[] gradIn,
                           Buf[] gradParams, boolean[] accumulateIn, boolean[] accumulateParams, Buf workspace) {

    Buf in(int i) { return get(in, i); }
    Buf out(int i) { return get(out, i); }
    Buf param(int i) { return get(params, i); }
    Buf aux(int i) { return get(aux, i); }
    Buf gradOut(int i) { return get(gradOut, i); }
    Buf gradIn(int i) { return get(gradIn, i); }
    Buf gradParam(int i) { return get(gradParams, i); }
    boolean accIn(int i) { return accumulateIn != null && i < accumulateIn.length && accumulateIn[i]; }
    boolean accParam(int i) { return accumulateParams != null && i < accumulateParams.length && accumulateParams[i]; }

    /** A declared input that must be present. */
    Buf need(Buf[] arr, int i, String what) {
        Buf b = get(arr, i);
        if (b == null)
            throw new IllegalArgumentException(node.op().type() + " backward of '" + node.name() + "': " + what
                    + " " + i + " is missing");
        return b;
    }

    private static Buf get(Buf[] arr, int i) {
        return arr == null || i >= arr.length ? null : arr[i];
    }
}
