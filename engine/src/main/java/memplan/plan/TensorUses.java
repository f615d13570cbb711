package memplan.plan;

import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.IntConsumer;

/**
 * For each tensor: the steps that touch it, its last forward use and first backward use. Computed once per schedule.
 */
public final class TensorUses {
    private final int[][] uses;
    private final int[] lastForward;
    private final int[] firstBackward;
    private final int[] firstWrite;

    private TensorUses(int[][] uses, int[] lastForward, int[] firstBackward, int[] firstWrite) {
        this.uses = uses;
        this.lastForward = lastForward;
        this.firstBackward = firstBackward;
        this.firstWrite = firstWrite;
    }

    private static final Map<Schedule, TensorUses> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * The uses of a schedule, computed once per schedule object (schedules are immutable and compared by identity),
     * so re-lowering a plan after one toggle does not recompute them.
     */
    public static TensorUses cached(Schedule s) {
        TensorUses u = CACHE.get(s);
        if (u == null) {
            u = of(s);
            CACHE.put(s, u);
        }
        return u;
    }

    public static TensorUses of(Schedule s) {
        int n = s.tensorCount();
        int[] count = new int[n];
        for (Step st : s.steps()) forEachTouched(st, t -> count[t]++);
        int[][] uses = new int[n][];
        for (int t = 0; t < n; t++) uses[t] = new int[count[t]];
        int[] fill = new int[n];
        int[] lastF = new int[n];
        int[] firstB = new int[n];
        int[] firstW = new int[n];
        Arrays.fill(lastF, -1);
        Arrays.fill(firstB, -1);
        Arrays.fill(firstW, -1);
        for (Step st : s.steps()) {
            int i = st.index();
            forEachTouched(st, t -> {
                if (fill[t] == 0 || uses[t][fill[t] - 1] != i) uses[t][fill[t]++] = i;
                if (st.phase() == Phase.FORWARD) lastF[t] = i;
                else if (st.phase() == Phase.BACKWARD && firstB[t] < 0) firstB[t] = i;
            });
            for (int t : st.writes()) if (firstW[t] < 0) firstW[t] = i;
            if (st.workspace() >= 0 && firstW[st.workspace()] < 0) firstW[st.workspace()] = i;
        }
        for (int t = 0; t < n; t++) if (fill[t] != uses[t].length) uses[t] = Arrays.copyOf(uses[t], fill[t]);
        return new TensorUses(uses, lastF, firstB, firstW);
    }

    private static void forEachTouched(Step st, IntConsumer f) {
        for (int t : st.reads()) f.accept(t);
        for (int t : st.writes()) if (!contains(st.reads(), t)) f.accept(t);
        if (st.workspace() >= 0) f.accept(st.workspace());
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    /** Sorted distinct steps that touch the tensor. */
    public int[] uses(int t) { return uses[t]; }
    public int lastForwardUse(int t) { return lastForward[t]; }
    public int firstBackwardUse(int t) { return firstBackward[t]; }
    /** Step that first writes the tensor, or -1 (live before the iteration, or never written). */
    public int firstWrite(int t) { return firstWrite[t]; }

    public int lastUse(int t) {
        return uses[t].length == 0 ? -1 : uses[t][uses[t].length - 1];
    }

    /** First use at or after a step, or -1. */
    public int firstUseAtOrAfter(int t, int step) {
        for (int u : uses[t]) if (u >= step) return u;
        return -1;
    }

    /** Whether any use lies strictly between two steps. */
    public boolean usedBetween(int t, int afterStep, int beforeStep) {
        for (int u : uses[t]) if (u > afterStep && u < beforeStep) return true;
        return false;
    }
}
