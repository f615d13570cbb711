package memplan.parallel;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.ir.DType;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Optimizer;

import java.io.UncheckedIOException;

/**
 * The DeepSpeed configuration (ds_config.json) that runs a layout: batch sizes, the ZeRO stage with its default
 * buckets, optimizer and parameter offload, the 16-bit type, the optimizer, and activation checkpointing when the
 * plan recomputes (with CPU checkpointing when it also swaps). DeepSpeed's ZeRO-1 is its own stage 1 (MemPlan's
 * {@code zero1} memory model is PyTorch's ZeroRedundancyOptimizer over DDP); FSDP modes are PyTorch's, not DeepSpeed's.
 * Tensor and pipeline parallelism are set in the model code (Megatron's mpu, DeepSpeed's PipelineModule), so they
 * appear only as the data-parallel world size the batch sizes imply.
 */
public final class DeepSpeedConfig {
    private DeepSpeedConfig() {
    }

    /** The configuration as JSON text; {@code plan} may be null (no activation checkpointing). */
    public static String of(Layout l, int globalBatch, DType floatType, Optimizer optimizer, Plan plan) {
        if (l.shard().isFsdp()) throw new IllegalArgumentException("a DeepSpeed configuration needs shard mode "
                + "none, zero1, zero2 or zero3, not " + l.shard().label + " (FSDP is PyTorch's)");
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = json.createObjectNode();
        c.put("train_batch_size", globalBatch);
        c.put("train_micro_batch_size_per_gpu", l.microBatchSize(globalBatch));
        c.put("gradient_accumulation_steps", l.microBatches());
        ObjectNode opt = c.putObject("optimizer");
        opt.put("type", optimizer == Optimizer.ADAM ? "Adam" : "SGD");
        ObjectNode params = opt.putObject("params");
        params.put("lr", optimizer == Optimizer.ADAM ? 1e-3 : 0.01);
        if (optimizer == Optimizer.SGD) params.put("momentum", 0.9);
        if (floatType == DType.FP16) c.putObject("fp16").put("enabled", true);
        if (floatType == DType.BF16) c.putObject("bf16").put("enabled", true);
        ObjectNode z = c.putObject("zero_optimization");
        z.put("stage", ModelStates.stageOf(l.shard()));
        if (l.shard() != ShardMode.NONE) {
            z.put("contiguous_gradients", true);
            z.put("overlap_comm", true);
            z.put("reduce_bucket_size", ParallelProfile.DEEPSPEED_REDUCE_BUCKET);
        }
        if (l.offloadOptimizer()) z.putObject("offload_optimizer").put("device", "cpu").put("pin_memory", true);
        if (l.offloadParameters()) z.putObject("offload_param").put("device", "cpu").put("pin_memory", true);
        if (plan != null) {
            boolean recompute = false, swap = false;
            for (Decision d : plan.decisions()) {
                recompute |= d instanceof Decision.Recompute;
                swap |= d instanceof Decision.Swap;
            }
            if (recompute) {
                ObjectNode a = c.putObject("activation_checkpointing");
                a.put("partition_activations", l.tp() > 1);
                a.put("cpu_checkpointing", swap);
                a.put("contiguous_memory_optimization", false);
                a.put("synchronize_checkpoint_boundary", false);
            }
        }
        try {
            return json.writeValueAsString(c) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
