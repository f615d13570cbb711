package memplan.lower;

import memplan.backend.Codec;
import memplan.graph.Node;
import memplan.ir.TensorRole;
import memplan.plan.Decision;
import memplan.plan.InvalidPlanException;
import memplan.plan.PlanProblem;
import memplan.plan.Plan;
import memplan.plan.PlanValidator;
import memplan.plan.TensorUses;
import memplan.train.Schedule;
import memplan.train.Step;
import memplan.train.TensorInfo;
import memplan.train.TensorKind;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a plan to a schedule: inserts swap-out/release/swap-in, recompute, encode and decode instructions around
 * the steps, and assigns every tensor a device buffer for each stretch of its life. Automatic swap timings use the
 * device model: the device copy is released once the transfer could have finished behind compute, and the prefetch
 * is issued early enough to hide the transfer behind the steps before the use.
 */
public final class Lowering {
    private final Schedule s;
    private final Plan plan;
    private final StepCosts device;
    private final TensorUses uses;
    private final List<Instr> instrs = new ArrayList<>();
    /** Buffer bytes, role, codec and tensor, by buffer id. */
    private final List<long[]> bufInfo = new ArrayList<>();
    private final List<Codec> bufCodec = new ArrayList<>();
    /**
     * Per buffer, per tensor it holds: {tensor, first, last} position it is referenced. (A list per buffer: a map
     * keyed by buffer << 32 | tensor hashed most keys into a few bins, since Long.hashCode is buffer ^ tensor.)
     */
    private final List<List<int[]>> segments = new ArrayList<>();
    private final int[] current;
    private final int[] encoded;
    private final boolean[] dead;
    private final int[] pendingWait;
    private final int[] swapOutPos;
    /** The buffer each tensor was last placed in, for co-sharing with a tensor that is already dead. */
    private final int[] lastBuffer;
    /** Released device buffers whose host copy a later swap-in restores, by tensor. */
    private final Map<Integer, Integer> swapped = new LinkedHashMap<>();
    /** Buffers that have a host copy (sized in the result's hostBytes). */
    private final List<Integer> hostCopies = new ArrayList<>();

    private Lowering(Plan plan, StepCosts device, TensorUses uses) {
        this.s = plan.schedule();
        this.plan = plan;
        this.device = device;
        this.uses = uses;
        int n = s.tensorCount();
        current = new int[n];
        encoded = new int[n];
        dead = new boolean[n];
        pendingWait = new int[n];
        swapOutPos = new int[n];
        Arrays.fill(current, -1);
        Arrays.fill(encoded, -1);
        Arrays.fill(pendingWait, -1);
        Arrays.fill(swapOutPos, -1);
        lastBuffer = new int[n];
        Arrays.fill(lastBuffer, -1);
    }

    public static ExecutionSchedule lower(Plan plan, StepCosts device) {
        TensorUses uses = TensorUses.cached(plan.schedule());
        List<PlanProblem> problems = PlanValidator.problems(plan, uses);
        if (!problems.isEmpty()) throw new InvalidPlanException(problems);
        return new Lowering(plan, device, uses).run();
    }

    /** Swap timings after filling in automatic choices: out after, release after, prefetch after, in before. */
    record SwapTimes(int out, int release, int prefetch, int in) {
    }

    private ExecutionSchedule run() {
        int steps = s.stepCount();
        List<List<Integer>> swapOutAfter = lists(steps), releaseAfter = lists(steps), prefetchAfter = lists(steps);
        List<List<Integer>> encodeAfter = lists(steps);
        for (int t = 0; t < s.tensorCount(); t++) {
            Decision d = plan.decision(t);
            if (d instanceof Decision.Swap sw) {
                SwapTimes st = swapTimes(t, sw, s.tensor(t).bytes());
                swapOutAfter.get(st.out).add(t);
                releaseAfter.get(st.release).add(t);
                prefetchAfter.get(st.prefetch).add(t);
            } else if (d instanceof Decision.Compress c) {
                int enc = uses.lastForwardUse(t);
                encodeAfter.get(enc).add(t);
                if (c.swap()) {
                    long eb = c.codec().encodedBytes(s.tensor(t).shape().numel(), c.density());
                    SwapTimes st = autoSwap(enc, uses.firstBackwardUse(t), -1, eb);
                    releaseAfter.get(st.release).add(t);
                    prefetchAfter.get(st.prefetch).add(t);
                }
            }
        }
        List<List<Node>> rerunBefore = rerunsBefore();
        // Parameters, buffers, optimizer state and the data batch occupy memory for the whole iteration.
        List<Integer> persistent = new ArrayList<>();
        for (TensorInfo ti : s.tensors())
            if (s.persistent(ti) || ti.kind() == TensorKind.DATA) {
                current[ti.id()] = newBuffer(ti.bytes(), ti.role(), null, ti.id());
                persistent.add(ti.id());
            }

        for (int i = 0; i < steps; i++) {
            Step st = s.step(i);
            for (Node n : rerunBefore.get(i)) rerunAt(n, i);
            List<Integer> waits = new ArrayList<>();
            for (int t : st.reads()) prepareRead(t, i, waits);
            int pos = instrs.size();
            List<Integer> ts = new ArrayList<>(), bs = new ArrayList<>();
            for (int t : st.reads()) bind(ts, bs, t, current[t]);
            for (int t : st.writes()) {
                if (current[t] < 0) current[t] = allocateFor(t);
                bind(ts, bs, t, current[t]);
            }
            if (st.workspace() >= 0) {
                int w = st.workspace();
                if (current[w] < 0) current[w] = allocateFor(w);
                bind(ts, bs, w, current[w]);
            }
            add(new Instr(pos, InstrKind.COMPUTE, i, st.node(), -1, ints(ts), ints(bs), ints(waits),
                    st.flops(), st.bytesAccessed()));

            for (int t : st.writes()) if (freedAfterForward(t) && uses.lastForwardUse(t) == i) markDead(t);
            for (int t : st.reads()) if (freedAfterForward(t) && uses.lastForwardUse(t) == i) markDead(t);
            for (int t : swapOutAfter.get(i)) swapOut(t, current[t]);
            for (int t : encodeAfter.get(i)) encode(t);
            for (int t : releaseAfter.get(i)) release(t);
            for (int t : prefetchAfter.get(i)) swapIn(t);
        }
        int last = instrs.size() - 1;
        for (int t : persistent) {
            touch(current[t], t, 0);
            touch(current[t], t, last);
        }
        return build();
    }

    /** Makes a tensor readable before a step: recompute it, decode it, or wait for its prefetch. */
    private void prepareRead(int t, int step, List<Integer> waits) {
        Decision d = plan.decision(t);
        if (d instanceof Decision.Recompute && dead[t]) materialize(t);
        if (d instanceof Decision.Compress && current[t] < 0 && encoded[t] >= 0) decode(t, (Decision.Compress) d);
        if (pendingWait[t] >= 0) {
            waits.add(pendingWait[t]);
            pendingWait[t] = -1;
        }
    }

    /** A recompute the lowering schedules: freed after its last forward use, rebuilt when next read. */
    private boolean freedAfterForward(int t) {
        return plan.decision(t) instanceof Decision.Recompute r && !r.explicit();
    }

    /** Per step, the nodes re-run before it for recomputes with given steps, in forward order. */
    private List<List<Node>> rerunsBefore() {
        List<List<Node>> out = lists(s.stepCount());
        boolean any = false;
        for (int t = 0; t < s.tensorCount(); t++)
            if (plan.decision(t) instanceof Decision.Recompute r && r.explicit()) {
                Node n = producerOf(t);
                for (int step : r.at()) if (!out.get(step).contains(n)) out.get(step).add(n);
                any = true;
            }
        if (any)
            for (List<Node> l : out) if (l.size() > 1) l.sort(Comparator.comparingInt(n -> s.forwardStep(n.index())));
        return out;
    }

    /** Re-runs a node before a step for the recomputes planned there (rebuilding freed inputs the lowering owns). */
    private void rerunAt(Node n, int step) {
        for (int in : n.inputs()) {
            int ti = s.tensorOfValue(in);
            if (plan.decision(ti) instanceof Decision.Recompute && dead[ti]) materialize(ti);
        }
        int t = -1;
        for (int o : n.outputs()) if (rebuiltAt(s.tensorOfValue(o), step)) t = t < 0 ? s.tensorOfValue(o) : t;
        for (int a : n.aux()) if (rebuiltAt(s.tensorOfValue(a), step)) t = t < 0 ? s.tensorOfValue(a) : t;
        rerun(n, t, step);
    }

    private boolean rebuiltAt(int t, int step) {
        return plan.decision(t) instanceof Decision.Recompute r && r.explicit() && r.at().contains(step);
    }

    private void markDead(int t) {
        dead[t] = true;
        current[t] = -1;
    }

    /**
     * Re-runs the producer of a freed activation, first rebuilding any freed inputs it reads (depth first, inputs in
     * order). An explicit stack, not recursion: a chain of 100 000 recomputed ops must not overflow the thread stack.
     */
    private void materialize(int t) {
        ArrayDeque<int[]> stack = new ArrayDeque<>(); // {tensor, next input to look at}
        stack.push(new int[]{t, 0});
        while (!stack.isEmpty()) {
            int[] top = stack.peek();
            int[] inputs = producerOf(top[0]).inputs();
            if (top[1] < inputs.length) {
                int ti = s.tensorOfValue(inputs[top[1]++]);
                if (plan.decision(ti) instanceof Decision.Recompute && dead[ti]) stack.push(new int[]{ti, 0});
                continue;
            }
            stack.pop();
            rerun(producerOf(top[0]), top[0], -1);
        }
    }

    /**
     * One RECOMPUTE instruction: the node's forward pass, rebuilding its freed recomputed outputs and, before step
     * {@code step} (-1: on demand), the outputs planned to be rebuilt there, each into a new buffer.
     */
    private void rerun(Node n, int t, int step) {
        int pos = instrs.size();
        List<Integer> ts = new ArrayList<>(), bs = new ArrayList<>();
        List<Integer> waits = new ArrayList<>();
        for (int in : n.inputs()) {
            int ti = s.tensorOfValue(in);
            if (pendingWait[ti] >= 0) {
                waits.add(pendingWait[ti]);
                pendingWait[ti] = -1;
            }
            bind(ts, bs, ti, current[ti]);
        }
        for (int p : n.params()) bind(ts, bs, s.tensorOfValue(p), current[s.tensorOfValue(p)]);
        List<Integer> written = new ArrayList<>();
        for (int o : n.outputs()) written.add(s.tensorOfValue(o));
        for (int a : n.aux()) written.add(s.tensorOfValue(a));
        for (int o : written) {
            if (plan.decision(o) instanceof Decision.Recompute && dead[o] || step >= 0 && rebuiltAt(o, step)) {
                current[o] = newBuffer(s.tensor(o).bytes(), s.tensor(o).role(), null, o);
                dead[o] = false;
                bind(ts, bs, o, current[o]);
            } else {
                // The op writes every output; those not being rebuilt go to scratch that is freed at once.
                bind(ts, bs, o, newBuffer(s.tensor(o).bytes(), s.tensor(o).role(), null, o));
            }
        }
        int fwd = s.forwardStep(n.index());
        int ws = s.step(fwd).workspace();
        if (ws >= 0) bind(ts, bs, ws, newBuffer(s.tensor(ws).bytes(), TensorRole.WORKSPACE, null, ws));
        long bytes = 0;
        for (int k = 0; k < ts.size(); k++) bytes += s.tensor(ts.get(k)).bytes();
        add(new Instr(pos, InstrKind.RECOMPUTE, fwd, n.index(), t, ints(ts), ints(bs), ints(waits), n.flops(), bytes));
    }

    private void swapOut(int t, int buffer) {
        int pos = instrs.size();
        swapOutPos[t] = pos;
        add(new Instr(pos, InstrKind.SWAP_OUT, -1, -1, t, new int[]{t}, new int[]{buffer},
                new int[0], 0, bufBytes(buffer)));
    }

    private void release(int t) {
        boolean enc = plan.decision(t) instanceof Decision.Compress;
        int buffer = enc ? encoded[t] : current[t];
        int pos = instrs.size();
        add(new Instr(pos, InstrKind.RELEASE, -1, -1, t, new int[]{t}, new int[]{buffer},
                new int[]{swapOutPos[t]}, 0, bufBytes(buffer)));
        if (enc) encoded[t] = -1;
        else current[t] = -1;
        swapped.put(t, buffer);
    }

    private void swapIn(int t) {
        int old = swapped.remove(t);
        boolean enc = plan.decision(t) instanceof Decision.Compress;
        int buf = newBuffer(bufBytes(old), enc ? TensorRole.ACTIVATION : s.tensor(t).role(), bufCodec.get(old), t);
        int pos = instrs.size();
        add(new Instr(pos, InstrKind.SWAP_IN, -1, -1, t, new int[]{t, t}, new int[]{buf, old},
                new int[0], 0, bufBytes(old)));
        if (enc) encoded[t] = buf;
        else current[t] = buf;
        pendingWait[t] = pos;
        hostCopies.add(old);
    }

    private void encode(int t) {
        Decision.Compress c = (Decision.Compress) plan.decision(t);
        long eb = c.codec().encodedBytes(s.tensor(t).shape().numel(), c.density());
        int buf = newBuffer(eb, TensorRole.ACTIVATION, c.codec(), t);
        int pos = instrs.size();
        add(new Instr(pos, InstrKind.ENCODE, -1, -1, t, new int[]{t, t}, new int[]{buf, current[t]}, new int[0], 0,
                eb + s.tensor(t).bytes()));
        encoded[t] = buf;
        current[t] = -1;
        if (c.swap()) swapOut(t, buf);
    }

    private void decode(int t, Decision.Compress c) {
        int buf = newBuffer(s.tensor(t).bytes(), s.tensor(t).role(), null, t);
        int pos = instrs.size();
        int[] waits = pendingWait[t] >= 0 ? new int[]{pendingWait[t]} : new int[0];
        pendingWait[t] = -1;
        add(new Instr(pos, InstrKind.DECODE, -1, -1, t, new int[]{t, t}, new int[]{buf, encoded[t]}, waits, 0,
                bufBytes(encoded[t]) + s.tensor(t).bytes()));
        current[t] = buf;
        encoded[t] = -1;
    }

    /** A new buffer for a tensor's first write, or the buffer of the tensor it is planned to share. */
    private int allocateFor(int t) {
        if (plan.decision(t) instanceof Decision.Share sh) {
            int w = sh.with();
            int b = current[w] >= 0 ? current[w] : lastBuffer[w];
            if (b >= 0) {
                lastBuffer[t] = b;
                return b;
            }
        }
        int b = newBuffer(s.tensor(t).bytes(), s.tensor(t).role(), null, t);
        lastBuffer[t] = b;
        return b;
    }

    private SwapTimes swapTimes(int t, Decision.Swap sw, long bytes) {
        int out = sw.outAfter() >= 0 ? sw.outAfter() : uses.lastForwardUse(t);
        int in = sw.inBefore() >= 0 ? sw.inBefore() : uses.firstBackwardUse(t);
        return autoSwap(out, in, sw.prefetchAfter(), bytes);
    }

    private SwapTimes autoSwap(int out, int in, int prefetch, long bytes) {
        double transfer = device.transferSeconds(bytes);
        if (prefetch < 0) {
            prefetch = in - 1;
            double hidden = 0;
            while (prefetch > out && hidden < transfer) hidden += device.stepSeconds(s, s.step(prefetch--));
        }
        int release = out;
        double behind = 0;
        while (release < prefetch && behind < transfer) behind += device.stepSeconds(s, s.step(++release));
        return new SwapTimes(out, release, prefetch, in);
    }

    private Node producerOf(int t) {
        return s.graph().nodes().get(s.graph().value(s.tensor(t).value()).producer());
    }

    private int newBuffer(long bytes, TensorRole role, Codec codec, int tensor) {
        bufInfo.add(new long[]{bytes, role.ordinal(), tensor});
        bufCodec.add(codec);
        segments.add(new ArrayList<>(2));
        return bufInfo.size() - 1;
    }

    private long bufBytes(int b) {
        return bufInfo.get(b)[0];
    }

    private void bind(List<Integer> ts, List<Integer> bs, int t, int b) {
        if (b < 0) throw new IllegalStateException("lowering: tensor '" + s.tensor(t).name()
                + "' has no buffer at instruction " + instrs.size());
        ts.add(t);
        bs.add(b);
    }

    private void add(Instr in) {
        instrs.add(in);
        // A swap-in's second binding names the host copy it restores, not device memory.
        int bound = in.kind() == InstrKind.SWAP_IN ? 1 : in.buffers().length;
        for (int k = 0; k < bound; k++) touch(in.buffers()[k], in.tensors()[k], in.pos());
    }

    private void touch(int buffer, int tensor, int pos) {
        List<int[]> l = segments.get(buffer);
        for (int k = 0, n = l.size(); k < n; k++) {
            int[] seg = l.get(k);
            if (seg[0] == tensor) {
                seg[1] = Math.min(seg[1], pos);
                seg[2] = Math.max(seg[2], pos);
                return;
            }
        }
        l.add(new int[]{tensor, pos, pos});
    }

    private ExecutionSchedule build() {
        int nb = bufInfo.size();
        TensorRole[] roles = TensorRole.values();
        List<Buffer> buffers = new ArrayList<>(nb);
        long[] host = new long[nb];
        for (int b : hostCopies) host[b] = bufBytes(b);
        for (int b = 0; b < nb; b++) {
            List<int[]> list = new ArrayList<>(segments.get(b).size());
            for (int[] e : segments.get(b)) list.add(new int[]{e[1], e[2]});
            if (list.size() > 1) list.sort((x, y) -> Integer.compare(x[0], y[0]));
            List<int[]> merged = new ArrayList<>(list.size());
            for (int[] sgm : list) {
                if (!merged.isEmpty() && sgm[0] <= merged.get(merged.size() - 1)[1])
                    merged.get(merged.size() - 1)[1] = Math.max(merged.get(merged.size() - 1)[1], sgm[1]);
                else merged.add(new int[]{sgm[0], sgm[1]});
            }
            int[] st = new int[merged.size()], en = new int[merged.size()];
            for (int i = 0; i < st.length; i++) {
                st[i] = merged.get(i)[0];
                en[i] = merged.get(i)[1];
            }
            long[] info = bufInfo.get(b);
            buffers.add(new Buffer(b, (int) info[2], info[0], roles[(int) info[1]], bufCodec.get(b), st, en, -1));
        }
        return new ExecutionSchedule(s, plan, List.copyOf(instrs), buffers, host);
    }

    private static <T> List<List<T>> lists(int n) {
        List<List<T>> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) l.add(new ArrayList<>());
        return l;
    }

    private static int[] ints(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }
}
