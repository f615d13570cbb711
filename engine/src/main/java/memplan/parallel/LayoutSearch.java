package memplan.parallel;

import memplan.train.Phase;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Searches layouts by their highest rank's peak: the largest global batch a layout fits on devices of a capacity,
 * and the fewest devices (powers of two) on which some layout fits a global batch. Schedules come from a function of
 * the micro-batch size and are derived once per size.
 */
public final class LayoutSearch {
    /** The tensor-parallel degrees tried: within one node of 8 devices. */
    static final int[] TENSOR = {1, 2, 4, 8};
    /** Shard modes tried, the least communication first. */
    public static final List<ShardMode> SHARDS = List.of(ShardMode.NONE, ShardMode.ZERO1, ShardMode.ZERO2,
            ShardMode.FSDP_GRAD_OP, ShardMode.ZERO3);
    /** The shard modes DeepSpeed runs. */
    public static final List<ShardMode> DEEPSPEED_SHARDS = List.of(ShardMode.NONE, ShardMode.ZERO1, ShardMode.ZERO2,
            ShardMode.ZERO3);

    private final IntFunction<Schedule> atMicroBatch;
    private final List<ShardMode> shards;
    private final Map<Integer, Schedule> schedules = new HashMap<>();
    private int evaluated;

    public LayoutSearch(IntFunction<Schedule> atMicroBatch) {
        this(atMicroBatch, SHARDS);
    }

    /** A search that tries the given shard modes, in that order (the least communication first). */
    public LayoutSearch(IntFunction<Schedule> atMicroBatch, List<ShardMode> shards) {
        this.atMicroBatch = atMicroBatch;
        this.shards = List.copyOf(shards);
    }

    /** A layout that fits, with its per-rank memory. */
    public record Fit(Layout layout, ParallelProfile profile, int microBatchSize) {
        public long peakBytes() {
            return profile.highest().peakBytes();
        }
    }

    /** Layouts whose ranks were computed so far. */
    public int evaluated() {
        return evaluated;
    }

    public ParallelProfile profile(Layout l, int globalBatch) {
        int micro = l.microBatchSize(globalBatch);
        evaluated++;
        return ParallelProfile.of(schedules.computeIfAbsent(micro, atMicroBatch::apply), l);
    }

    /** The largest global batch (a multiple of dp x micro-batches, up to {@code limit}) that fits, or 0. */
    public int maxBatch(Layout l, long capacity, int limit) {
        long step = (long) l.dp() * l.microBatches();
        if (step > limit) return 0;
        long lo = 0, hi = limit / step;   // in units of step; lo fits (0 trivially), hi may not
        if (fits(l, (int) (hi * step), capacity)) return (int) (hi * step);
        while (hi - lo > 1) {
            long mid = (lo + hi) >>> 1;
            if (fits(l, (int) (mid * step), capacity)) lo = mid;
            else hi = mid;
        }
        return (int) (lo * step);
    }

    private boolean fits(Layout l, int batch, long capacity) {
        return profile(l, batch).highest().peakBytes() <= capacity;
    }

    /**
     * The fewest devices, a power of two up to {@code maxDevices}, on which a layout fits the global batch; at that
     * count the layout with the fewest micro-batches, then the fewest pipeline stages, then the least tensor
     * parallelism, then the least sharding. Micro-batches are powers of two up to {@code maxMicroBatches} (a pipeline
 * takes at least as many as it has stages). Empty when none fits.
     */
    public List<Fit> fewestDevices(int globalBatch, long capacity, int maxDevices, int maxStages,
                                   int maxMicroBatches) {
        Schedule one = schedules.computeIfAbsent(1, atMicroBatch::apply);
        long layers = one.steps().stream().filter(st -> st.phase() == Phase.FORWARD).count();
        for (int n = 1; n <= Math.min(maxDevices, Layout.MAX_DEVICES); n *= 2) {
            List<Fit> fits = new ArrayList<>();
            for (int tp : TENSOR) {
                if (tp > n) break;
                for (int pp = 1; tp * pp <= n && pp <= maxStages && pp <= layers; pp *= 2) {
                    int dp = n / (tp * pp);
                    if (globalBatch % dp != 0) continue;
                    for (ShardMode m : shards) {
                        if (dp == 1 && m != ShardMode.NONE) continue;
                        Fit f = fewestMicroBatches(new Layout(dp, tp, pp, m, 1, PipelineSchedule.ONE_F_ONE_B,
                                false, false, dp, true), globalBatch, capacity, maxMicroBatches);
                        if (f != null) {
                            fits.add(f);
                            break;   // more sharding only adds communication
                        }
                    }
                }
            }
            if (!fits.isEmpty()) {
                fits.sort(Comparator.comparingInt((Fit f) -> f.layout().microBatches())
                        .thenComparingInt(f -> f.layout().pp()).thenComparingInt(f -> f.layout().tp())
                        .thenComparingInt(f -> f.layout().shard().ordinal()));
                return fits;
            }
        }
        return List.of();
    }

    /** The fewest micro-batches (powers of two; at least pp with a pipeline) with which the layout fits. */
    private Fit fewestMicroBatches(Layout base, int globalBatch, long capacity, int maxMicroBatches) {
        int perRank = globalBatch / base.dp();
        for (int m = base.pp() > 1 ? base.pp() : 1; m <= Math.min(perRank, maxMicroBatches); m *= 2) {
            if (perRank % m != 0) continue;
            Layout l = base.withMicroBatches(m);
            ParallelProfile p = profile(l, globalBatch);
            if (p.highest().peakBytes() <= capacity) return new Fit(l, p, perRank / m);
        }
        return null;
    }
}
