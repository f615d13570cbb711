# ------------------------------------------------------------------ the plan's parallel layout
# wrap(model, ...) after apply(model): the data-parallel wrapping that MemPlan's per-rank memory counts
# (docs/pytorch-export.md, docs/distributed.md).
PARALLEL = {"world_size": 8, "dp": 8, "tp": 1, "pp": 1, "shard": "fsdp-full",
            "micro_batches": 1, "bucket_cap_mb": 25, "offload_optimizer": False, "offload_params": True,
            "shard_group": 8}
# FSDP's units as the plan gathers them, one module call that uses parameters at a time (with the next one
# prefetched): the auto-wrap policy wraps each of these modules
FSDP_UNITS = [
    "conv1",
    "bn1",
    "layer1.0.conv1",
    "layer1.0.bn1",
    "layer1.0.conv2",
    "layer1.0.bn2",
    "layer1.1.conv1",
    "layer1.1.bn1",
    "layer1.1.conv2",
    "layer1.1.bn2",
    "layer2.0.conv1",
    "layer2.0.bn1",
    "layer2.0.conv2",
    "layer2.0.bn2",
    "layer2.0.downsample.0",
    "layer2.0.downsample.1",
    "layer2.1.conv1",
    "layer2.1.bn1",
    "layer2.1.conv2",
    "layer2.1.bn2",
    "layer3.0.conv1",
    "layer3.0.bn1",
    "layer3.0.conv2",
    "layer3.0.bn2",
    "layer3.0.downsample.0",
    "layer3.0.downsample.1",
    "layer3.1.conv1",
    "layer3.1.bn1",
    "layer3.1.conv2",
    "layer3.1.bn2",
    "layer4.0.conv1",
    "layer4.0.bn1",
    "layer4.0.conv2",
    "layer4.0.bn2",
    "layer4.0.downsample.0",
    "layer4.0.downsample.1",
    "layer4.1.conv1",
    "layer4.1.bn1",
    "layer4.1.conv2",
    "layer4.1.bn2",
    "fc",
]


def wrap(model, optimizer_class=torch.optim.Adam, process_group=None, device_ids=None, **optimizer_args):
    """Wraps `model` (after apply(model)) as the plan's layout runs it and makes its optimizer.

    Returns (wrapped model, optimizer). torch.distributed must be initialised with the plan's
    data-parallel world size; optimizer_args go to optimizer_class (lr=..., ...).
    """
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
    policy = functools.partial(lambda_auto_wrap_policy, lambda_fn=lambda m: id(m) in units) if units \
        else None
    fsdp = FullyShardedDataParallel(model, process_group=process_group,
                                    sharding_strategy=getattr(ShardingStrategy, strategy),
                                    cpu_offload=CPUOffload(offload_params=PARALLEL["offload_params"]),
                                    auto_wrap_policy=policy,
                                    device_id=device_ids[0] if device_ids else None)
    return fsdp, optimizer_class(fsdp.parameters(), **optimizer_args)
