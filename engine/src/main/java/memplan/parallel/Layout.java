package memplan.parallel;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How one training job is spread over devices: data-parallel degree {@code dp} (the ranks that split the batch and,
 * with a shard mode, the model states), tensor-parallel degree {@code tp} (Megatron column/row splits, with sequence
 * parallelism), pipeline stages {@code pp}, micro-batches per iteration (gradient accumulation, or the pipeline's
 * micro-batches), and what goes to host memory. {@code shardGroup} is the number of ranks one FSDP hybrid shard
 * spans (the rest replicate); for the other modes the shards span all {@code dp} ranks. {@code sequenceParallel}:
 * tensor parallelism also splits the LayerNorm and dropout regions along the sequence (Megatron-SP), so every
 * activation is divided by tp; without it those stay whole ({@link TensorSplit}).
 */
public record Layout(int dp, int tp, int pp, ShardMode shard, int microBatches, PipelineSchedule pipeline,
                     boolean offloadOptimizer, boolean offloadParameters, int shardGroup, boolean sequenceParallel) {

    /** GPUs per node of the usual servers: the default span of an FSDP hybrid shard and of a tensor-parallel group. */
    public static final int NODE = 8;
    /** The most devices a layout may span. */
    public static final int MAX_DEVICES = 1 << 20;

    public Layout {
        if (dp < 1 || tp < 1 || pp < 1) throw new IllegalArgumentException("parallel degrees must be positive, got dp="
                + dp + ", tp=" + tp + ", pp=" + pp);
        if ((long) dp * tp * pp > MAX_DEVICES) throw new IllegalArgumentException("a layout of dp=" + dp + " x tp="
                + tp + " x pp=" + pp + " devices is over the limit of " + MAX_DEVICES);
        if (microBatches < 1) throw new IllegalArgumentException("micro-batches must be positive, got " + microBatches);
        if (shardGroup < 1 || dp % shardGroup != 0) throw new IllegalArgumentException("a hybrid shard of "
                + shardGroup + " ranks does not divide dp=" + dp);
        if (offloadParameters && !shard.shardsParameters) throw new IllegalArgumentException(
                "parameter offload needs a shard mode that shards parameters (zero3, fsdp-full, fsdp-hybrid), not "
                        + shard.label);
    }

    /** Plain data parallelism over {@code dp} devices (DDP), one micro-batch. */
    public static Layout dataParallel(int dp) {
        return new Layout(dp, 1, 1, ShardMode.NONE, 1, PipelineSchedule.ONE_F_ONE_B, false, false, dp, true);
    }

    public static Layout single() {
        return dataParallel(1);
    }

    public int worldSize() {
        return dp * tp * pp;
    }

    /** Ranks one shard of the model states is split over (1 when nothing is sharded). */
    public int shardDegree() {
        if (shard == ShardMode.NONE) return 1;
        return shard == ShardMode.FSDP_HYBRID ? shardGroup : dp;
    }

    public Layout withShard(ShardMode s) {
        return new Layout(dp, tp, pp, s, microBatches, pipeline, offloadOptimizer,
                offloadParameters && s.shardsParameters, s == ShardMode.FSDP_HYBRID ? defaultShardGroup(dp) : dp,
                sequenceParallel);
    }

    public Layout withMicroBatches(int m) {
        return new Layout(dp, tp, pp, shard, m, pipeline, offloadOptimizer, offloadParameters, shardGroup,
                sequenceParallel);
    }

    public Layout withPipeline(PipelineSchedule p) {
        return new Layout(dp, tp, pp, shard, microBatches, p, offloadOptimizer, offloadParameters, shardGroup,
                sequenceParallel);
    }

    public Layout withOffload(boolean optimizer, boolean parameters) {
        return new Layout(dp, tp, pp, shard, microBatches, pipeline, optimizer, parameters, shardGroup,
                sequenceParallel);
    }

    public Layout withShardGroup(int group) {
        return new Layout(dp, tp, pp, shard, microBatches, pipeline, offloadOptimizer, offloadParameters, group,
                sequenceParallel);
    }

    public Layout withSequenceParallel(boolean on) {
        return new Layout(dp, tp, pp, shard, microBatches, pipeline, offloadOptimizer, offloadParameters, shardGroup,
                on);
    }

    /** The batch each rank runs at once: the global batch over the data-parallel ranks and the micro-batches. */
    public int microBatchSize(int globalBatch) {
        long per = (long) dp * microBatches;
        if (globalBatch % per != 0) throw new IllegalArgumentException("a batch of " + globalBatch
                + " does not split into dp=" + dp + " ranks x " + microBatches + " micro-batches");
        return (int) (globalBatch / per);
    }

    static int defaultShardGroup(int dp) {
        int g = Math.min(dp, NODE);
        while (dp % g != 0) g--;
        return g;
    }

    /**
     * A layout from a world size (or 0 when not given), a degree list such as {@code dp=4,tp=2,pp=2} (or null) and
     * a shard mode (or null for none). A world size alone means data parallelism over all of it; degrees that are
     * not given are 1, except dp, which fills the world size.
     */
    public static Layout parse(int worldSize, String degrees, String shard) {
        if (worldSize < 0 || worldSize > MAX_DEVICES) throw new IllegalArgumentException("world size must be from 1 to "
                + MAX_DEVICES + ", got " + worldSize);
        Map<String, Integer> d = degrees == null ? Map.of() : degrees(degrees);
        int tp = d.getOrDefault("tp", 1), pp = d.getOrDefault("pp", 1);
        int dp;
        if (d.containsKey("dp")) {
            dp = d.get("dp");
            if (worldSize > 0 && dp * tp * pp != worldSize) throw new IllegalArgumentException("parallel layout '"
                    + degrees + "' uses " + dp * tp * pp + " devices, not the world size " + worldSize);
        } else if (worldSize > 0) {
            if (worldSize % (tp * pp) != 0) throw new IllegalArgumentException("world size " + worldSize
                    + " is not a multiple of tp x pp = " + tp * pp);
            dp = worldSize / (tp * pp);
        } else dp = 1;
        ShardMode m = shard == null ? ShardMode.NONE : ShardMode.parse(shard);
        return new Layout(dp, tp, pp, m, 1, PipelineSchedule.ONE_F_ONE_B, false, false,
                m == ShardMode.FSDP_HYBRID ? defaultShardGroup(dp) : dp, true);
    }

    private static Map<String, Integer> degrees(String spec) {
        Map<String, Integer> d = new LinkedHashMap<>();
        for (String part : spec.split(",", -1)) {
            String[] kv = part.trim().split("=", -1);
            if (kv.length != 2) throw new IllegalArgumentException("parallel layout '" + spec + "': '" + part
                    + "' is not NAME=DEGREE (names: dp, tp, pp)");
            String k = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!k.equals("dp") && !k.equals("tp") && !k.equals("pp")) throw new IllegalArgumentException(
                    "parallel layout '" + spec + "': unknown degree '" + kv[0].trim() + "' (names: dp, tp, pp)");
            int v;
            try {
                v = Integer.parseInt(kv[1].trim());
            } catch (NumberFormatException e) {
                v = 0;
            }
            if (v < 1 || v > 1 << 20) throw new IllegalArgumentException("parallel layout '" + spec + "': " + k
                    + " must be a whole number from 1 to 1048576, got '" + kv[1].trim() + "'");
            if (d.put(k, v) != null) throw new IllegalArgumentException("parallel layout '" + spec + "' gives " + k
                    + " twice");
        }
        return d;
    }

    /** {@code dp=4 tp=2 pp=2 zero3}, with micro-batches, offload and hybrid shard size where they apply. */
    public String describe() {
        StringBuilder b = new StringBuilder("dp=" + dp + " tp=" + tp + " pp=" + pp + " " + shard.label);
        if (shard == ShardMode.FSDP_HYBRID) b.append(" (shard over ").append(shardGroup).append(")");
        if (microBatches > 1) b.append(" micro-batches=").append(microBatches);
        if (pp > 1) b.append(" ").append(pipeline.label);
        if (tp > 1 && !sequenceParallel) b.append(" no-sequence-parallel");
        if (offloadOptimizer) b.append(" offload-optimizer");
        if (offloadParameters) b.append(" offload-params");
        return b.toString();
    }
}
