"""What PyTorch really allocates in one training iteration (CPU), measured as in shared/pytorch-memory-facts.md.

Live bytes at the start (parameters, buffers, optimizer state, data and labels, deduplicated by storage) plus the
running sum of the profiler's memory events of one iteration after a warm-up iteration; per phase (forward with the
loss, backward, optimizer) the highest point of that sum while the phase runs. Saved-for-backward bytes come from a
separate forward under torch.autograd.graph.saved_tensors_hooks, deduplicated by storage, with parameter, buffer and
input storages counted apart.
"""
import torch
from torch.profiler import ProfilerActivity, profile, record_function

PHASES = ("forward", "backward", "optimizer", "zero_grad")


def _storage(t):
    s = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage().untyped()
    return s.data_ptr(), s.nbytes()


def live_bytes(tensors):
    """Bytes of the distinct storages behind the given tensors (views and aliases counted once)."""
    seen = {}
    for t in tensors:
        if t is None or not isinstance(t, torch.Tensor) or t.numel() == 0:
            continue
        ptr, n = _storage(t)
        seen[ptr] = max(seen.get(ptr, 0), n)
    return sum(seen.values())


def _state_tensors(model, optimizer, data):
    ts = list(model.parameters()) + list(model.buffers()) + list(data)
    ts += [p.grad for p in model.parameters() if p.grad is not None]
    for st in optimizer.state.values():
        ts += [v for v in st.values() if isinstance(v, torch.Tensor)]
    return ts


def _iteration(model, optimizer, loss_fn, x, y, set_to_none, phases=True, micro_batches=1, autocast=None):
    def ph(name):
        return record_function(name) if phases else _Null()
    for _ in range(micro_batches):   # gradient accumulation: each backward adds into .grad, one step after all
        with ph("forward"):
            if autocast is None:
                loss = loss_fn(model(x), y)
            else:
                with torch.autocast("cpu", dtype=autocast):
                    loss = loss_fn(model(x), y)
        with ph("backward"):
            loss.backward()
    with ph("optimizer"):
        optimizer.step()
    with ph("zero_grad"):
        optimizer.zero_grad(set_to_none=set_to_none)
    return loss


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def measure(model, optimizer, loss_fn, x, y, set_to_none=True, micro_batches=1, autocast=None):
    """Measures one training iteration after a warm-up; returns a dict of bytes (see the module doc). With
    micro_batches K the iteration is K forward and backward passes on (x, y) and one optimizer step; autocast
    (torch.bfloat16) runs forward and loss under torch.autocast("cpu")."""
    model.train()
    torch.manual_seed(0)
    _iteration(model, optimizer, loss_fn, x, y, set_to_none, phases=False, micro_batches=micro_batches,
               autocast=autocast)   # warm-up: optimizer state appears
    start = live_bytes(_state_tensors(model, optimizer, (x, y)))
    torch.manual_seed(0)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _iteration(model, optimizer, loss_fn, x, y, set_to_none, micro_batches=micro_batches, autocast=autocast)
    # The raw allocation events, in the order the profiler recorded them (function_events folds most of them
    # into the op that made them); record_function ranges give the phases.
    events = prof.profiler.kineto_results.events()
    ranges = {}   # phase -> its time ranges (one per micro-batch for forward and backward)
    for e in events:
        if e.name() in PHASES:
            ranges.setdefault(e.name(), []).append((e.start_us(), e.start_us() + e.duration_us()))
    missing = [p for p in PHASES if p not in ranges]
    if missing:
        raise RuntimeError("profiler lost the record_function ranges " + ", ".join(missing))
    mem = [(e.start_us(), i, e.nbytes()) for i, e in enumerate(events) if e.name() == "[memory]" and e.nbytes() != 0]
    mem.sort()
    peaks = {p: start for p in PHASES}
    run = 0
    best = 0
    for ts, _, delta in mem:
        run += delta
        best = max(best, run)
        for p, spans in ranges.items():
            if any(a <= ts <= b for a, b in spans):
                peaks[p] = max(peaks[p], start + run)
    return {
        "startBytes": start,
        "peakBytes": start + best,
        "endBytes": start + run,
        "phasePeakBytes": {p: peaks[p] for p in ("forward", "backward", "optimizer")},
        "saved": saved_bytes(model, loss_fn, x, y, autocast),
    }


def saved_bytes(model, loss_fn, x, y, autocast=None):
    """Bytes autograd keeps for backward in one forward (with the loss): activations, and apart from them the
    parameter, buffer and input storages that are saved too."""
    own = {_storage(t)[0] for t in list(model.parameters()) + list(model.buffers())}
    inputs = {_storage(t)[0] for t in (x, y)}
    saved = {}
    kept = []

    def pack(t):
        ptr, n = _storage(t)
        saved[ptr] = max(saved.get(ptr, 0), n)
        kept.append(t)   # keeps the storage alive so that no later tensor reuses its address
        return t

    torch.manual_seed(0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        if autocast is None:
            loss = loss_fn(model(x), y)
        else:
            with torch.autocast("cpu", dtype=autocast):
                loss = loss_fn(model(x), y)
    del loss
    act = sum(n for p, n in saved.items() if p not in own and p not in inputs)
    par = sum(n for p, n in saved.items() if p in own)
    inp = sum(n for p, n in saved.items() if p in inputs)
    kept.clear()
    return {"activationBytes": act, "parameterBytes": par, "inputBytes": inp}
