

class PlanMismatch(RuntimeError):
    """The module does not match the plan: a module path, a call or a tensor shape differs."""


def _say(text):
    warnings.warn("memplan plan: " + text, stacklevel=3)


def _storage_ptr(t):
    s = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage().untyped()
    return s.data_ptr()


class _Host:
    """A tensor's copy off the device. CUDA: pinned host memory, copied on a side stream. CPU: a numpy array,
    outside PyTorch's allocator, so that the device (PyTorch's allocator) really gives the bytes back."""

    def __init__(self, t, stream):
        self.dtype, self.device, self.shape = t.dtype, t.device, t.shape
        self.stream = stream
        self.back = None
        if t.is_cuda:
            self.host = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
            stream.wait_stream(torch.cuda.current_stream(t.device))
            with torch.cuda.stream(stream):
                self.host.copy_(t, non_blocking=True)
                t.record_stream(stream)
        else:
            same = {torch.bfloat16: torch.int16, torch.float16: torch.int16}.get(t.dtype)
            self.host = (t.detach().view(same) if same else t.detach()).numpy().copy()

    def fetch(self):
        back = self.back() if self.back is not None else None
        if back is not None:
            return back   # a second saved use of the same tensor while the first copy back is alive
        if self.device.type == "cuda":
            with torch.cuda.stream(self.stream):
                back = self.host.to(self.device, non_blocking=True)
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
            back.record_stream(torch.cuda.current_stream(self.device))
        else:
            back = torch.from_numpy(self.host).clone()   # clone: the copy back is allocated by PyTorch
            if self.dtype in (torch.bfloat16, torch.float16):
                back = back.view(self.dtype)
        self.back = weakref.ref(back)
        return back


def _encode(t, codec):
    if codec in ("fp16", "bf16"):
        return (codec, t.dtype, t.to(torch.float16 if codec == "fp16" else torch.bfloat16))
    if codec == "mask-1bit":
        flat = (t > 0).flatten().to(torch.uint8)
        pad = (-flat.numel()) % 8
        if pad:
            flat = torch.cat([flat, flat.new_zeros(pad)])
        bits = (flat.view(-1, 8) << torch.arange(8, dtype=torch.uint8, device=t.device)).sum(1, dtype=torch.uint8)
        return (codec, t.dtype, bits, t.shape)
    raise PlanMismatch("codec %r is not one this module implements" % codec)


def _decode(packed):
    if packed[0] in ("fp16", "bf16"):
        return packed[2].to(packed[1])
    _, dtype, bits, shape = packed
    n = 1
    for d in shape:
        n *= d
    ones = (bits.unsqueeze(1) >> torch.arange(8, dtype=torch.uint8, device=bits.device)) & 1
    return ones.flatten()[:n].view(shape).to(dtype)   # 1 where the ReLU output was positive: all its backward reads


class _Call:
    """One call of a planned module in one step: its inputs, RNG state, and what became of what it saved."""

    def __init__(self, handle, module, forward, path, decisions, args, kwargs):
        self.handle, self.module, self.path, self.decisions = handle, module, path, decisions
        self.forward, self.kwargs = forward, kwargs
        self.inputs = []      # per tensor argument: (tensor, version, producing _Call whose output it still is)
        self.grads = []       # per tensor argument: whether it required grad
        # the positional arguments for a replay: tensors by their index in inputs, anything else as it was
        self.template = [("tensor", sum(isinstance(b, torch.Tensor) for b in args[:i])) if isinstance(a, torch.Tensor)
                         else ("value", a) for i, a in enumerate(args)]
        for a in args:
            if isinstance(a, torch.Tensor):
                tag = getattr(a, "_memplan_call", None)
                live = tag is not None and tag[1] == a._version
                self.inputs.append((a, a._version, tag[0] if live else None))
                self.grads.append(a.requires_grad)
        self.npacks = 0       # tensors saved while it ran, in order (a recompute saves them in the same order)
        self.rng = torch.get_rng_state() if any(d[0] == "recompute" for d in decisions.values()) else None
        self.cuda_rng = None
        if self.rng is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            self.cuda_rng = torch.cuda.get_rng_state()
        self.slots = []        # tensors it saved while running, resolved when it returns
        self.sources = None    # after it returned, for recompute: per input a tensor or the _Call that remakes it
        self.host = None
        self.encoded = None
        self.in_place = False
        self.cache_out = None      # the recomputed output, kept while a saved use refers to this call
        self.cache_saved = None    # the recomputed call's saved tensors, likewise
        self.uses = {"out": 0, "aux": 0}   # saved uses to be recomputed that backward has not unpacked yet
        self.out_geometry = None   # the output's (shape, stride, offset): saved views of it are made from it again

    def is_input(self, t):
        p = _storage_ptr(t)
        return any(_storage_ptr(a) == p and v == t._version for a, v, _ in self.inputs)

    def finish(self, output):
        h = self.handle
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            output = output[0]   # nn.MultiheadAttention: (output, weights)
        if not isinstance(output, torch.Tensor):
            raise PlanMismatch("module '%s' returned %s, the plan expects a tensor" % (self.path, type(output)))
        shape = h.shapes.get(self.path)
        if shape is not None and tuple(output.shape) != shape:
            raise PlanMismatch("module '%s' (tensor '%s') gives shape %s, the plan was made for %s"
                               % (self.path, h.tensor_of[self.path], list(output.shape), list(shape)))
        out_ptr = _storage_ptr(output)
        self.out_geometry = (tuple(output.shape), output.stride(), output.storage_offset())
        self.in_place = any(_storage_ptr(a) == out_ptr for a, _, _ in self.inputs)
        # An in-place module that needs its input for backward saves a copy of it (ReLU6, Hardswish): that copy is
        # what the plan calls the input, so it follows the input's decision and is what a recompute starts from.
        copy, overwritten = None, None
        if self.in_place:
            copy = next((sl for sl in self.slots if _storage_ptr(sl.t) != out_ptr and sl.t.shape == output.shape
                         and sl.t.dtype == output.dtype), None)
            overwritten = next((src for a, _, src in self.inputs if _storage_ptr(a) == out_ptr and src is not None
                                and "out" in src.decisions), None)
        if any(d[0] == "recompute" for d in self.decisions.values()):
            sources = [src if src is not None and src.decisions.get("out", ("",))[0] == "recompute" else a
                       for a, _, src in self.inputs]
            if copy is not None:
                sources = [copy.t if isinstance(s, torch.Tensor) and _storage_ptr(s) == out_ptr else s
                           for s in sources]
            if any(isinstance(s, torch.Tensor) and _storage_ptr(s) == out_ptr for s in sources):
                # it overwrote an input that is kept: there is nothing left to rebuild its output from
                h.not_expressed_now(self, "the module runs in place on a kept input, so its output cannot be "
                                          "rebuilt; kept")
                self.decisions = {k: ("keep",) + d[1:] for k, d in self.decisions.items()}
            else:
                self.sources = sources
        self.inputs = None
        for slot in self.slots:
            if slot is copy and overwritten is not None:
                t, slot.t = slot.t, None
                slot.packed = overwritten.pack_out(t)
            else:
                slot.resolve("out" if _storage_ptr(slot.t) == out_ptr else "aux")
        self.slots = None
        if "out" in self.decisions:
            output._memplan_call = (self, output._version)
            h.outs[out_ptr] = weakref.ref(output)   # the next module may save a view of it (F.linear's 2-d input)

    # --- what a saved tensor of this call becomes
    def pack_out(self, t):
        geometry = (tuple(t.shape), t.stride(), t.storage_offset())
        base = self.out_geometry
        if base is not None and geometry != base:
            # a view of the output (F.linear saves its 3-d input as 2-d): the rule acts on the whole output, and
            # the view is made again from what comes back
            if base[2] != 0 or not _contiguous(base):
                return _Kept(t)
            whole = t.detach().as_strided(base[0], base[1], base[2])
            return _Viewed(self.pack(whole, self.decisions["out"], "out", -1), geometry)
        return self.pack(t, self.decisions["out"], "out", -1)

    def pack(self, t, d, part, index):
        kind = d[0]
        if kind in ("keep", "follow"):
            return _Kept(t)
        if kind == "swap":
            if part == "out":
                if self.host is None:
                    self.host = _Host(t, self.handle.stream)
                return _Swapped(self.host)
            return _Swapped(_Host(t, self.handle.stream))
        if kind == "compress":
            if part == "out":
                if self.encoded is None:
                    self.encoded = _encode(t, d[3])
                return _Compressed(self.encoded)
            return _Compressed(_encode(t, d[3]))
        self.uses[part] += 1
        return _Recomputed(self, part, index, t.shape, t.dtype)

    def remake(self, part, index, overwrite=False):
        """The output (part "out") or the index-th tensor it saved, rebuilt from its inputs (themselves rebuilt
        where they are recomputed too). The rebuilt output is kept while a saved use of it has not been unpacked
        (rebuilt once, as MemPlan's plan rebuilds it), also when a recompute of the next module asked for it."""
        if part == "out" and self.cache_out is not None:
            return self.cache_out.clone() if overwrite else self.cache_out   # an in-place module overwrites it
        if part == "aux" and self.cache_saved is not None:
            return self.cache_saved[index]
        out, saved = self._run()
        if self.decisions.get("aux", ("",))[0] == "recompute" and self.uses["aux"] > 0:
            self.cache_saved = saved
        if part == "out" and self.uses["out"] > 0:
            self.cache_out = out
            if overwrite:
                return out.clone()   # the in-place module would overwrite the copy that is kept
        return out if part == "out" else saved[index]

    def _run(self):
        xs = []
        given = {}   # an input given several times stays one tensor (attention's q is k is v takes its own path)
        for s, grad in zip(self.sources, self.grads):
            if id(s) not in given:
                x = (s.remake("out", -1, self.in_place) if isinstance(s, _Call) else s).detach()
                if self.in_place and not isinstance(s, _Call):
                    x = x.clone()   # the module overwrites it
                # an in-place module may not overwrite a leaf that requires grad; a module with parameters
                # records its saved tensors anyway
                if grad and not self.in_place:
                    x.requires_grad_()
                given[id(s)] = x
            xs.append(given[id(s)])
        saved = []
        buffers = [(b, b.clone()) for b in self.module.buffers()]   # BatchNorm's statistics: update them once
        self.handle.replaying += 1
        try:
            with torch.random.fork_rng(devices=[] if self.cuda_rng is None else [torch.cuda.current_device()]):
                torch.set_rng_state(self.rng)
                if self.cuda_rng is not None:
                    torch.cuda.set_rng_state(self.cuda_rng)
                with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(
                        lambda x: saved.append(x.detach()) or len(saved) - 1, lambda i: saved[i]):
                    out = self.forward(*[xs[v] if k == "tensor" else v for k, v in self.template], **self.kwargs)
                    if isinstance(out, (tuple, list)):
                        out = out[0]
        finally:
            self.handle.replaying -= 1
            with torch.no_grad():
                for b, copy in buffers:
                    b.copy_(copy)
        return out.detach(), saved


class _Slot:
    """A tensor a planned module saved while it ran; what it becomes is known when the module returns."""
    __slots__ = ("call", "t", "index", "packed")

    def __init__(self, call, t, index):
        self.call, self.t, self.index, self.packed = call, t, index, None

    def resolve(self, part):
        d = self.call.decisions.get(part)
        t, self.t = self.t, None
        self.packed = _Kept(t) if d is None else self.call.pack(t, d, part, self.index)

    def get(self):
        return self.packed.get()


def _contiguous(geometry):
    shape, stride, _ = geometry
    expect = 1
    for n, st in reversed(list(zip(shape, stride))):
        if n != 1 and st != expect:
            return False
        expect *= n
    return True


class _Viewed:
    __slots__ = ("inner", "geometry")

    def __init__(self, inner, geometry):
        self.inner, self.geometry = inner, geometry

    def get(self):
        shape, stride, offset = self.geometry
        return self.inner.get().as_strided(shape, stride, offset)


class _Kept:
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t

    def get(self):
        return self.t


class _Swapped:
    __slots__ = ("host",)

    def __init__(self, host):
        self.host = host

    def get(self):
        return self.host.fetch()


class _Compressed:
    __slots__ = ("encoded",)

    def __init__(self, encoded):
        self.encoded = encoded

    def get(self):
        return _decode(self.encoded)


class _Recomputed:
    __slots__ = ("call", "part", "index", "shape", "dtype")

    def __init__(self, call, part, index, shape, dtype):
        self.call, self.part, self.index, self.shape, self.dtype = call, part, index, shape, dtype

    def get(self):
        call = self.call
        t = call.remake(self.part, self.index)
        # the rebuilt copy is held while a saved use still needs it (as MemPlan's plan holds it), no longer
        call.uses[self.part] -= 1
        if call.uses[self.part] <= 0:
            if self.part == "out":
                call.cache_out = None
            else:
                call.cache_saved = None
        if t.shape != self.shape or t.dtype != self.dtype:
            raise PlanMismatch("recomputing module '%s' gave a %s %s where its forward saved a %s %s"
                               % (self.call.path, t.dtype, list(t.shape), self.dtype, list(self.shape)))
        return t


class PlanHandle:
    """The plan installed on one model: `with handle.step():` around the forward (and loss) of a training step."""

    def __init__(self, model):
        self.model = model
        self.planned = {}        # module -> {call index: decisions}
        self.paths = {}          # module -> path
        self.shapes = {}         # path -> expected output shape
        self.tensor_of = {}      # path -> MemPlan tensor name
        self.counts = {}
        self.stack = []
        self.active = False
        self.replaying = 0
        self.runtime_not_expressed = []
        self.params = set()
        self.stream = None
        self.outs = {}           # storage of a planned call's output -> weak reference to that output, per step
        self.originals = []

    def _resolve(self, path, tensor):
        try:
            return self.model.get_submodule(path), path, 0
        except AttributeError:
            pass
        head, _, last = path.rpartition(".")
        base, _, k = last.rpartition("_")
        if base and k.isdigit():   # the ONNX exporter names a module's second call 'relu_1'
            alt = (head + "." if head else "") + base
            try:
                return self.model.get_submodule(alt), alt, int(k)
            except AttributeError:
                pass
        raise PlanMismatch("the model has no module '%s' (MemPlan tensor '%s'); this plan was made for %s"
                           % (path, tensor, PLAN["model"]))

    def install(self):
        self.params = {_storage_ptr(p) for p in list(self.model.parameters()) + list(self.model.buffers())}
        if any(p.is_cuda for p in self.model.parameters()):
            self.stream = torch.cuda.Stream()
        for path, tensor in REGIONS:
            module, _, _ = self._resolve(path, tensor)
            self._checkpoint(module)
        for tensor, kind, path, part, shape, codec in DECISIONS:
            module, real, call = self._resolve(path, tensor)
            self.paths[module] = real
            calls = self.planned.setdefault(module, {})
            calls.setdefault(call, {})[part] = (kind, tensor, shape, codec)
            if part == "out" and shape is not None:
                self.shapes[real + ("#%d" % call if call else "")] = tuple(shape)
                self.tensor_of[real + ("#%d" % call if call else "")] = tensor
        for module in self.planned:
            self._wrap(module)
        return self

    def _wrap(self, module):
        # the call's forward itself, not forward hooks: a replay needs the keyword arguments too
        forward = module.forward
        handle = self

        def run(*args, **kwargs):
            if not handle.active or handle.replaying:
                return forward(*args, **kwargs)
            k = handle.counts.get(module, 0)
            handle.counts[module] = k + 1
            d = handle.planned[module].get(k)
            call = None if d is None else _Call(handle, module, forward, handle.paths[module]
                                                + ("#%d" % k if k else ""), dict(d), args, kwargs)
            handle.stack.append(call)
            try:
                output = forward(*args, **kwargs)
            finally:
                handle.stack.pop()
            if call is not None:
                call.finish(output)
            return output
        module.forward = run
        self.originals.append((module, forward))

    def _checkpoint(self, module):
        forward = module.forward
        handle = self

        def run(*args, **kwargs):
            if not handle.active or handle.replaying:
                return forward(*args, **kwargs)
            calls = [0]

            def once(*a, **k):
                calls[0] += 1
                if calls[0] == 1:
                    return forward(*a, **k)
                buffers = [(b, b.clone()) for b in module.buffers()]   # recomputing: statistics update once
                handle.replaying += 1
                try:
                    return forward(*a, **k)
                finally:
                    handle.replaying -= 1
                    with torch.no_grad():
                        for b, copy in buffers:
                            b.copy_(copy)
            return checkpoint(once, *args, use_reentrant=False, **kwargs)
        module.forward = run
        self.originals.append((module, forward))

    def _pack(self, t):
        call = self.stack[-1] if self.stack else None
        if call is not None:
            index = call.npacks
            call.npacks += 1
            if _storage_ptr(t) not in self.params and not call.is_input(t):
                slot = _Slot(call, t, index)
                call.slots.append(slot)
                return slot
        tag = getattr(t, "_memplan_call", None)
        if tag is None:   # a view made inside an operator is a new tensor object: find its output by the storage
            ref = self.outs.get(_storage_ptr(t))
            whole = ref() if ref is not None else None
            tag = getattr(whole, "_memplan_call", None)
        if tag is not None and tag[1] == t._version and tag[0].slots is None:
            return tag[0].pack_out(t)
        return _Kept(t)

    @staticmethod
    def _unpack(packed):
        return packed.get()

    def not_expressed_now(self, call, reason):
        name = self.tensor_of.get(call.path, call.path)
        if name not in [n for n, _ in self.runtime_not_expressed]:
            self.runtime_not_expressed.append((name, reason))
            _say("tensor '%s' (module '%s'): %s" % (name, call.path, reason))

    @contextlib.contextmanager
    def step(self):
        """Around the forward pass (and the loss) of one training step; backward may run inside or after it."""
        if self.active:
            raise RuntimeError("memplan plan: step() is already active")
        self.counts, self.stack, self.active, self.outs = {}, [], True, {}
        try:
            with torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack):
                yield self
        finally:
            self.active = False
            self.stack, self.outs = [], {}

    def remove(self):
        """Takes the plan off the model again."""
        for module, forward in reversed(self.originals):
            module.forward = forward
        self.originals = []


def apply(model):
    """Installs this plan on `model` (an nn.Module); checks every module path now and every planned output shape
    on the first step, and fails naming the first mismatch. Returns the handle whose step() wraps a forward."""
    for line in WARNINGS:
        _say(line)
    return PlanHandle(model).install()
