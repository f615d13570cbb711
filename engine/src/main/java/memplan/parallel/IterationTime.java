package memplan.parallel;

import memplan.graph.Node;
import memplan.ops.Linear;
import memplan.train.Schedule;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

/**
 * A simple time model of one iteration of a layout: the compute of one rank's micro-batch (from the simulator, given
 * by the caller) divided over the tensor-parallel ranks and the pipeline stages, the pipeline's bubble, and the
 * collectives on ring links: data-parallel gradient and parameter traffic as each engine sends it (all-reduce for
 * DDP, plus ZeRO-1's parameter broadcasts; reduce-scatter and all-gather for ZeRO-2 and FSDP's SHARD_GRAD_OP; twice
 * the all-gather for ZeRO-3 and FULL_SHARD: the ZeRO paper's 2 and 3 parameter volumes), Megatron's two all-reduces
 * per Linear pair and pass, and the pipeline's boundary sends. Data-parallel traffic overlaps the backward pass
 * (two thirds of the compute), parameter gathers with prefetch the whole compute; tensor-parallel traffic does not
 * overlap. Tensor and pipeline groups use {@code inner} (a node's links) when the job fits in one node of
 * {@link Layout#NODE} devices, and data-parallel groups {@code outer} otherwise.
 */
public record IterationTime(double computeSeconds, double bubbleSeconds, long dataParallelBytes,
                            double dataParallelSeconds, long tensorParallelBytes, double tensorParallelSeconds,
                            long pipelineBytes, double pipelineSeconds, double exposedSeconds,
                            double iterationSeconds) {

    /** {@code microBatchSeconds}: one device's predicted time for one micro-batch of the schedule. */
    public static IterationTime of(Schedule s, Layout l, double microBatchSeconds, Network inner, Network outer) {
        int m = l.microBatches(), tp = l.tp(), pp = l.pp(), dp = l.dp();
        Network dpNet = l.worldSize() <= Layout.NODE ? inner : outer;
        Network ppNet = l.worldSize() <= Layout.NODE ? inner : outer;
        double perStage = microBatchSeconds / tp / pp;
        double compute = m * perStage;
        double bubble = pp > 1 ? (pp - 1) * perStage : 0;
        long params = 0, grads = 0;
        for (TensorInfo t : s.tensors()) {
            if (t.kind() == TensorKind.PARAM && s.gradOfValue(t.value()) >= 0) params += t.bytes();
            if (t.kind() == TensorKind.PARAM_GRAD) grads += t.bytes();
        }
        params = params / tp / pp;
        grads = grads / tp / pp;
        long dpBytes = 0;
        double dpSec = 0;
        int nd = l.shardDegree();
        switch (l.shard()) {
            case NONE -> {
                dpBytes = ring(2, grads, dp);
                dpSec = dpNet.allReduceSeconds(grads, dp);
            }
            case ZERO1 -> {
                dpBytes = ring(2, grads, dp) + ring(1, params, dp);
                dpSec = dpNet.allReduceSeconds(grads, dp) + dpNet.gatherSeconds(params, dp);
            }
            case ZERO2, FSDP_GRAD_OP -> {
                dpBytes = ring(1, grads, dp) + ring(1, params, dp);
                dpSec = dpNet.gatherSeconds(grads, dp) + dpNet.gatherSeconds(params, dp);
            }
            case ZERO3, FSDP_FULL, FSDP_HYBRID -> {
                dpBytes = ring(1, grads, nd) + ring(2, params, nd);
                dpSec = dpNet.gatherSeconds(grads, nd) + 2 * dpNet.gatherSeconds(params, nd);
                if (dp > nd) {   // hybrid: the shards' gradients all-reduced across the replicas
                    dpBytes += ring(2, grads / nd, dp / nd);
                    dpSec += outer.allReduceSeconds(grads / nd, dp / nd);
                }
            }
        }
        long tpBytes = 0;
        double tpSec = 0;
        if (tp > 1) {
            TensorSplit split = TensorSplit.of(s.graph());
            for (Node n : s.graph().nodes()) {
                if (!(n.op() instanceof Linear)) continue;
                boolean rowParallel = split.valueSplit(s.graph(), n.inputs()[0]);
                // forward all-reduce of a row-parallel Linear's output; backward one of a column-parallel input
                long b = s.graph().value(rowParallel ? n.outputs()[0] : n.inputs()[0]).bytes();
                tpBytes += (long) m * ring(2, b, tp);
                tpSec += m * inner.allReduceSeconds(b, tp);
            }
            tpSec /= pp;
            tpBytes /= pp;
        }
        long ppBytes = 0;
        double ppSec = 0;
        if (pp > 1) {
            long boundary = boundaryBytes(s, l) / tp;
            ppBytes = 2L * m * boundary;   // activations forward, their gradients back
            ppSec = 2.0 * m * ppNet.sendSeconds(boundary);
        }
        double hidden = l.shard().shardsParameters ? compute : compute * 2 / 3;
        double exposed = Math.max(0, dpSec - hidden) + tpSec + ppSec;
        return new IterationTime(compute, bubble, dpBytes, dpSec, tpBytes, tpSec, ppBytes, ppSec, exposed,
                compute + bubble + exposed);
    }

    private static long ring(int times, long bytes, int n) {
        return n <= 1 ? 0 : times * (n - 1) * bytes / n;
    }

    private static long boundaryBytes(Schedule s, Layout l) {
        return ParallelProfile.boundaryBytes(s, l);
    }
}
