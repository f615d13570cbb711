package memplan.cli;

import memplan.parallel.Layout;
import memplan.parallel.Network;
import memplan.parallel.PipelineSchedule;
import memplan.parallel.ShardMode;
import picocli.CommandLine.Option;

import java.util.Locale;

/** The options that lay a job over several devices (docs/distributed.md); none given means one device. */
public final class ParallelArgs {
    @Option(names = "--world-size", paramLabel = "N",
            description = "Devices of the job; alone it means data parallelism over all of them.")
    Integer worldSize;

    @Option(names = "--parallel", paramLabel = "dp=D,tp=T,pp=P",
            description = "Data, tensor and pipeline parallel degrees, e.g. dp=4,tp=2,pp=2 (missing ones are 1; dp "
                    + "fills --world-size).")
    String parallel;

    @Option(names = "--shard", paramLabel = "MODE",
            description = "How the data-parallel ranks split the model states: none (DDP), zero1 "
                    + "(ZeroRedundancyOptimizer), zero2, zero3 (DeepSpeed), fsdp-full, fsdp-grad-op, fsdp-hybrid.")
    String shard;

    @Option(names = "--micro-batches", paramLabel = "M",
            description = "Micro-batches per iteration (gradient accumulation, or the pipeline's; default 1).")
    Integer microBatches;

    @Option(names = "--pipeline", paramLabel = "gpipe|1f1b", description = "Pipeline schedule (default 1f1b).")
    String pipeline;

    @Option(names = "--offload", paramLabel = "optimizer|params|optimizer,params",
            description = "Keep the optimizer state (and sharded gradients) or the parameter shards in host memory.")
    String offload;

    @Option(names = "--shard-group", paramLabel = "G",
            description = "Ranks one fsdp-hybrid shard spans (default: up to 8, a node).")
    Integer shardGroup;

    @Option(names = "--network", paramLabel = "INNER,OUTER", defaultValue = "nvlink,ib-ndr",
            description = "Links of the collectives' time model: within a node of 8, and between nodes (presets: "
                    + "nvlink, ib-ndr, ib-hdr, ethernet; default: ${DEFAULT-VALUE}).")
    String network;

    @Option(names = "--no-sequence-parallel", description = "Tensor parallelism without Megatron's sequence "
            + "parallelism: LayerNorm and dropout regions stay whole on every tensor-parallel rank.")
    boolean noSequenceParallel;

    /** The links within a node and between nodes. */
    public Network[] networks() {
        String[] parts = network.split(",", -1);
        if (parts.length != 2) throw new CliException("--network takes INNER,OUTER (e.g. nvlink,ib-ndr), got '"
                + network + "'");
        try {
            return new Network[]{Network.preset(parts[0].trim()), Network.preset(parts[1].trim())};
        } catch (IllegalArgumentException e) {
            throw new CliException("--network: " + e.getMessage());
        }
    }

    /** Whether any layout option was given. */
    public boolean given() {
        return worldSize != null || parallel != null || shard != null || microBatches != null || pipeline != null
                || offload != null || shardGroup != null || noSequenceParallel;
    }

    public Layout layout() {
        if (worldSize != null && worldSize < 1)
            throw new CliException("--world-size must be a positive integer, got " + worldSize);
        if (microBatches != null && microBatches < 1)
            throw new CliException("--micro-batches must be a positive integer, got " + microBatches);
        Layout l;
        try {
            l = Layout.parse(worldSize == null ? 0 : worldSize, parallel, shard);
            if (shard != null && l.dp() == 1 && l.shard() != ShardMode.NONE)
                throw new CliException("--shard " + l.shard().label + " needs more than one data-parallel rank "
                        + "(give --world-size or dp= in --parallel)");
            if (microBatches != null) l = l.withMicroBatches(microBatches);
            if (pipeline != null) l = l.withPipeline(PipelineSchedule.parse(pipeline));
            if (shardGroup != null) {
                if (l.shard() != ShardMode.FSDP_HYBRID)
                    throw new CliException("--shard-group applies to --shard fsdp-hybrid only");
                l = l.withShardGroup(shardGroup);
            }
            if (offload != null) l = offload(l);
            if (noSequenceParallel) l = l.withSequenceParallel(false);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        return l;
    }

    private Layout offload(Layout l) {
        boolean opt = false, params = false;
        for (String part : offload.split(",", -1)) {
            switch (part.trim().toLowerCase(Locale.ROOT)) {
                case "optimizer" -> opt = true;
                case "params" -> params = true;
                default -> throw new CliException("--offload: unknown part '" + part.trim()
                        + "' (use optimizer, params or optimizer,params)");
            }
        }
        if (opt && l.shard() == ShardMode.NONE) throw new CliException("--offload optimizer needs a --shard mode "
                + "(zero1 and up): DDP alone keeps the optimizer on the device");
        return l.withOffload(opt, params);
    }
}
