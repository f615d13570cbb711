package memplan.profile;

import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.Arrays;

/**
 * First definition and last use of every tensor of a schedule. Parameters, buffers, optimizer state and the
 * data batch are live for the whole iteration ({@code first = -1}, {@code last = stepCount}); every other tensor
 * is live from the step that first writes it to the last step that touches it, as an eager framework frees it.
 */
public final class Liveness {
    private final int[] first;
    private final int[] last;

    private Liveness(int[] first, int[] last) {
        this.first = first;
        this.last = last;
    }

    public static Liveness of(Schedule s) {
        int n = s.tensorCount();
        int[] first = new int[n];
        int[] last = new int[n];
        Arrays.fill(first, Integer.MAX_VALUE);
        Arrays.fill(last, -1);
        for (Step st : s.steps()) {
            for (int t : st.writes()) touch(first, last, t, st.index());
            for (int t : st.reads()) touch(first, last, t, st.index());
            if (st.workspace() >= 0) touch(first, last, st.workspace(), st.index());
        }
        for (TensorInfo t : s.tensors()) {
            if (s.persistent(t) || t.kind() == TensorKind.DATA) {
                first[t.id()] = -1;
                last[t.id()] = s.stepCount();
            } else if (last[t.id()] < 0) { // never touched (e.g. an unused output): never allocated
                first[t.id()] = 0;
                last[t.id()] = -1;
            }
        }
        return new Liveness(first, last);
    }

    private static void touch(int[] first, int[] last, int t, int step) {
        if (step < first[t]) first[t] = step;
        if (step > last[t]) last[t] = step;
    }

    /** Step that first writes the tensor, or -1 if it is live from before the iteration. */
    public int first(int tensor) {
        return first[tensor];
    }

    /** Last step that touches the tensor (stepCount for tensors that outlive the iteration). */
    public int last(int tensor) {
        return last[tensor];
    }

    public boolean liveAt(int tensor, int step) {
        return first[tensor] <= step && step <= last[tensor];
    }

    public int tensorCount() {
        return first.length;
    }
}
