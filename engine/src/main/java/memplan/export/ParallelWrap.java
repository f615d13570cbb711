package memplan.export;

import memplan.graph.Node;
import memplan.parallel.Layout;
import memplan.parallel.ParallelProfile;
import memplan.parallel.ShardMode;
import memplan.train.Phase;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorKind;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The data-parallel wrapping that matches a plan's layout, as a {@code wrap(model, ...)} function of the generated
 * module: DDP with the bucket size MemPlan counts (none), DDP with ZeroRedundancyOptimizer (zero1), FSDP with the
 * sharding strategy, CPU offload and an auto-wrap policy of the units MemPlan gathers one by one (the modules whose
 * calls use parameters). DeepSpeed's stages and tensor or pipeline parallelism are refused by the function with the
 * reason, since they are set elsewhere (a DeepSpeed config, the model code).
 */
final class ParallelWrap {
    private ParallelWrap() {
    }

    /** The module paths of the calls that use trainable parameters, in forward order: FSDP's units in the plan. */
    static List<String> units(Schedule s) {
        Set<String> out = new LinkedHashSet<>();
        for (Step st : s.steps()) {
            if (st.phase() != Phase.FORWARD || st.node() < 0) continue;
            boolean params = false;
            for (int t : st.reads())
                params |= s.tensor(t).kind() == TensorKind.PARAM && s.gradOfValue(s.tensor(t).value()) >= 0;
            if (!params) continue;
            Node n = s.graph().nodes().get(st.node());
            Optional<String> m = ModuleScope.of(n.name());
            if (m.isPresent() && !m.get().isEmpty()) out.add(m.get());
        }
        return List.copyOf(out);
    }

    /** What the wrapping cannot do as the layout says (one line each), for the module's WARNINGS. */
    static List<String> warnings(Schedule s, Layout l) {
        List<String> w = new ArrayList<>();
        if (l.tp() > 1 || l.pp() > 1)
            w.add("the layout has tensor or pipeline parallelism (tp=" + l.tp() + ", pp=" + l.pp() + "): they are set "
                    + "in the model code (Megatron-LM, DeepSpeed's PipelineModule); wrap() refuses it");
        if (l.shard() == ShardMode.ZERO2 || l.shard() == ShardMode.ZERO3)
            w.add(l.shard().label + " is DeepSpeed's: wrap() refuses it; write its configuration with `memplan plan "
                    + "--deepspeed-config` and use deepspeed.initialize");
        boolean fsdp = l.shard().label.startsWith("fsdp");
        if (fsdp && l.offloadOptimizer() && !l.offloadParameters())
            w.add("FSDP offloads parameters and gradients together (CPUOffload(offload_params=True)), not the "
                    + "optimizer state alone: the wrapped model keeps it on the device");
        if (fsdp && units(s).isEmpty())
            w.add("the model's layer names carry no PyTorch module paths: FSDP wraps the whole model as one unit, "
                    + "not one per layer as the plan counts");
        if (fsdp) w.add("FSDP needs CUDA in PyTorch 1.13; the wrapping has not run here");
        return w;
    }

    /** The Python text: the layout as PARALLEL, the units as FSDP_UNITS, and wrap(). */
    static String python(Schedule s, Layout l) {
        StringBuilder b = new StringBuilder();
        b.append("\n\n# ------------------------------------------------------------------ the plan's parallel")
                .append(" layout\n");
        b.append("# wrap(model, ...) after apply(model): the data-parallel wrapping that MemPlan's per-rank memory "
                + "counts\n# (docs/pytorch-export.md, docs/distributed.md).\n");
        b.append("PARALLEL = {\"world_size\": ").append(l.worldSize()).append(", \"dp\": ").append(l.dp())
                .append(", \"tp\": ").append(l.tp()).append(", \"pp\": ").append(l.pp()).append(", \"shard\": ")
                .append(PyTorchExporter.py(l.shard().label)).append(",\n            \"micro_batches\": ")
                .append(l.microBatches()).append(", \"bucket_cap_mb\": ")
                .append(ParallelProfile.BUCKET_CAP >> 20).append(", \"offload_optimizer\": ")
                .append(py(l.offloadOptimizer())).append(", \"offload_params\": ").append(py(l.offloadParameters()))
                .append(",\n            \"shard_group\": ").append(l.shardDegree()).append("}\n");
        b.append("# FSDP's units as the plan gathers them, one module call that uses parameters at a time (with the "
                + "next one\n# prefetched): the auto-wrap policy wraps each of these modules\n");
        b.append("FSDP_UNITS = [\n");
        if (l.shard().label.startsWith("fsdp"))
            for (String u : units(s)) b.append("    ").append(PyTorchExporter.py(u)).append(",\n");
        b.append("]\n");
        b.append(WRAP);
        return b.toString();
    }

    private static String py(boolean v) {
        return v ? "True" : "False";
    }

    private static final String WRAP = """


            def wrap(model, optimizer_class=torch.optim.Adam, process_group=None, device_ids=None, **optimizer_args):
                \"""Wraps `model` (after apply(model)) as the plan's layout runs it and makes its optimizer.

                Returns (wrapped model, optimizer). torch.distributed must be initialised with the plan's
                data-parallel world size; optimizer_args go to optimizer_class (lr=..., ...).
                \"""
                import torch.distributed as dist
                if not dist.is_available() or not dist.is_initialized():
                    raise RuntimeError("memplan_plan.wrap: call torch.distributed.init_process_group first")
                world = dist.get_world_size(process_group)
                if world != PARALLEL["dp"]:
                    raise RuntimeError("memplan_plan.wrap: the plan is for %d data-parallel ranks, the process group "
                                       "has %d" % (PARALLEL["dp"], world))
                if PARALLEL["tp"] > 1 or PARALLEL["pp"] > 1:
                    raise NotImplementedError("memplan_plan.wrap: tensor and pipeline parallelism (tp=%d, pp=%d) are "
                                              "set in the model code (Megatron-LM, DeepSpeed's PipelineModule)"
                                              % (PARALLEL["tp"], PARALLEL["pp"]))
                shard = PARALLEL["shard"]
                if shard in ("none", "zero1"):
                    from torch.nn.parallel import DistributedDataParallel
                    ddp = DistributedDataParallel(model, device_ids=device_ids, process_group=process_group,
                                                  bucket_cap_mb=PARALLEL["bucket_cap_mb"])
                    if shard == "none":
                        return ddp, optimizer_class(ddp.parameters(), **optimizer_args)
                    from torch.distributed.optim import ZeroRedundancyOptimizer
                    return ddp, ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=optimizer_class,
                                                        process_group=process_group, **optimizer_args)
                if shard in ("zero2", "zero3"):
                    raise NotImplementedError("memplan_plan.wrap: %s is DeepSpeed's; write its configuration with "
                                              "`memplan plan --deepspeed-config` and use deepspeed.initialize" % shard)
                import functools
                from torch.distributed.fsdp import CPUOffload, FullyShardedDataParallel, ShardingStrategy
                from torch.distributed.fsdp.wrap import lambda_auto_wrap_policy
                strategy = {"fsdp-full": "FULL_SHARD", "fsdp-grad-op": "SHARD_GRAD_OP",
                            "fsdp-hybrid": "HYBRID_SHARD"}[shard]
                if not hasattr(ShardingStrategy, strategy):
                    raise NotImplementedError("memplan_plan.wrap: FSDP's %s needs a later PyTorch (HYBRID_SHARD: 2.0); "
                                              "this is %s" % (strategy, torch.__version__))
                named = dict(model.named_modules())
                missing = [u for u in FSDP_UNITS if u not in named]
                if missing:
                    raise PlanMismatch("memplan_plan.wrap: the model has no module '%s' (an FSDP unit of the plan)"
                                       % missing[0])
                units = {id(named[u]) for u in FSDP_UNITS}
                policy = functools.partial(lambda_auto_wrap_policy, lambda_fn=lambda m: id(m) in units) if units \\
                    else None
                fsdp = FullyShardedDataParallel(model, process_group=process_group,
                                                sharding_strategy=getattr(ShardingStrategy, strategy),
                                                cpu_offload=CPUOffload(offload_params=PARALLEL["offload_params"]),
                                                auto_wrap_policy=policy,
                                                device_id=device_ids[0] if device_ids else None)
                return fsdp, optimizer_class(fsdp.parameters(), **optimizer_args)
            """;
}
