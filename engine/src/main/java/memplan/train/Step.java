package memplan.train;

/**
 * One step of a training iteration: a forward op, a backward op, or an optimizer update of one parameter.
 * {@code reads} and {@code writes} are tensor ids (a tensor both read and written is accumulated into);
 * {@code workspace} is the id of the scratch tensor the step needs while it runs, or -1.
 * {@code node} is the forward-graph node (forward and backward steps) or -1.
 */
public record Step(int index, Phase phase, int node, String label, int[] reads, int[] writes, int workspace,
                   long flops, long bytesAccessed) {

    public boolean touches(int tensor) {
        for (int t : reads) if (t == tensor) return true;
        for (int t : writes) if (t == tensor) return true;
        return workspace == tensor;
    }
}
