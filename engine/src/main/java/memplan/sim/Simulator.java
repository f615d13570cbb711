package memplan.sim;

import memplan.graph.Node;
import memplan.ir.TensorRole;
import memplan.lower.Buffer;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.train.Phase;
import memplan.train.InFlightCopies;
import memplan.train.Schedule;
import memplan.train.Step;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a lowered plan on a device model: one compute stream and one copy stream that overlap. A copy starts once
 * the compute issued before it has finished and the copy stream is free; compute that needs a swap-in, or a release
 * that needs a swap-out, stalls until the copy has finished. Memory comes from the buffers' segments, so the
 * predicted peak is exactly what an executor of the same schedule holds.
 */
public final class Simulator {
    private Simulator() {
    }

    public static SimResult simulate(Plan plan, DeviceModel device) {
        return simulate(Lowering.lower(plan, device), device);
    }

    public static SimResult simulate(ExecutionSchedule es, DeviceModel device) {
        Schedule s = es.schedule();
        List<Instr> instrs = es.instrs();
        int n = instrs.size();
        double[] start = new double[n];
        double[] end = new double[n];
        List<TimelineEvent> events = new ArrayList<>(n + es.buffers().size() * 2);
        double compute = 0, copy = 0, stalls = 0, recompute = 0;
        long toHost = 0, fromHost = 0;
        for (Instr in : instrs) {
            int p = in.pos();
            if (in.kind().copyStream) {
                start[p] = Math.max(copy, compute);
                end[p] = start[p] + device.transferSeconds(in.bytes());
                copy = end[p];
                if (in.kind() == InstrKind.SWAP_OUT) toHost += in.bytes();
                else fromHost += in.bytes();
                events.add(new TimelineEvent(start[p], end[p], in.kind() == InstrKind.SWAP_OUT
                        ? EventKind.SWAP_OUT : EventKind.SWAP_IN,
                        true, p, in.step(), in.tensor(), in.bytes(), s.tensor(in.tensor()).name()));
                continue;
            }
            double ready = compute;
            for (int w : in.waits()) ready = Math.max(ready, end[w]);
            if (ready > compute) {
                stalls += ready - compute;
                events.add(new TimelineEvent(compute, ready, EventKind.STALL, false, p, in.step(),
                        in.tensor(), 0, "stall"));
            }
            start[p] = ready;
            double d;
            EventKind kind;
            String label;
            switch (in.kind()) {
                case COMPUTE -> {
                    Step st = s.step(in.step());
                    d = device.stepSeconds(s, st);
                    kind = EventKind.COMPUTE;
                    label = st.label();
                }
                case RECOMPUTE -> {
                    Node node = s.graph().nodes().get(in.node());
                    d = device.recomputeSeconds(node, in.bytes());
                    recompute += d;
                    kind = EventKind.RECOMPUTE;
                    label = "recompute " + node.name();
                }
                case ENCODE, DECODE -> {
                    d = device.codecSeconds(in.bytes());
                    kind = in.kind() == InstrKind.ENCODE ? EventKind.ENCODE : EventKind.DECODE;
                    label = kind.name().toLowerCase() + " " + s.tensor(in.tensor()).name();
                }
                default -> { // RELEASE: waits for its swap-out, then frees
                    d = 0;
                    kind = EventKind.FREE;
                    label = "release " + s.tensor(in.tensor()).name();
                }
            }
            end[p] = ready + d;
            compute = end[p];
            if (kind != EventKind.FREE) events.add(new TimelineEvent(start[p], end[p], kind, false, p, in.step(),
                    in.tensor(), in.bytes(), label));
        }
        // Memory per position and role from the buffers' segments.
        int roles = TensorRole.values().length;
        long[][] diff = new long[roles][n + 1];
        for (Buffer b : es.buffers())
            for (int i = 0; i < b.segStart().length; i++) {
                diff[b.role().ordinal()][b.segStart()[i]] += b.bytes();
                diff[b.role().ordinal()][b.segEnd()[i] + 1] -= b.bytes();
                events.add(new TimelineEvent(start[b.segStart()[i]], start[b.segStart()[i]], EventKind.ALLOC, false,
                        b.segStart()[i], -1, b.tensor(), b.bytes(), s.tensor(b.tensor()).name()));
                events.add(new TimelineEvent(end[b.segEnd()[i]], end[b.segEnd()[i]], EventKind.FREE, false,
                        b.segEnd()[i], -1, b.tensor(), b.bytes(), s.tensor(b.tensor()).name()));
            }
        long[][] live = new long[roles][n];
        long peak = -1;
        int peakPos = 0;
        for (int r = 0; r < roles; r++) {
            long acc = 0;
            for (int i = 0; i < n; i++) live[r][i] = acc += diff[r][i];
        }
        if (s.holdsBytes()) addHeld(s, es.plan(), instrs, live);
        for (int i = 0; i < n; i++) {
            long tot = 0;
            for (int r = 0; r < roles; r++) tot += live[r][i];
            if (tot > peak) {
                peak = tot;
                peakPos = i;
            }
        }
        long[] host = hostBytes(es, n);
        Map<TensorRole, Long> byRole = new EnumMap<>(TensorRole.class);
        for (TensorRole r : TensorRole.values()) byRole.put(r, n == 0 ? 0 : live[r.ordinal()][peakPos]);
        double baseline = 0;
        int k = s.microBatches();
        for (Step st : s.steps()) baseline += device.stepSeconds(s, st) * (st.phase() == Phase.OPTIMIZER ? 1 : k);
        double iteration = Math.max(compute, copy);
        if (k > 1) {
            // gradient accumulation: the schedule is one micro-batch and the step; the others take as long
            double pass = iteration;
            for (Instr in : instrs)
                if (in.step() >= 0 && s.step(in.step()).phase() == Phase.OPTIMIZER) {
                    pass = start[in.pos()];
                    break;
                }
            iteration += (k - 1) * pass;
        }
        return new SimResult(es, Math.max(peak, 0), peakPos, byRole, iteration, baseline, toHost,
                fromHost, stalls, recompute,
                new Timeline(List.copyOf(events), start, live, host));
    }

    /**
     * Adds what one device of a larger job holds besides the schedule's tensors: a position counts the held bytes of
     * the step whose compute ran last (before the first compute, of the first step).
     */
    private static void addHeld(Schedule s, Plan plan, List<Instr> instrs, long[][] live) {
        long[] copies = inFlightByRole(s, plan);
        int step = 0;
        for (Instr in : instrs) {
            if (in.kind() == InstrKind.COMPUTE) step = in.step();
            for (TensorRole r : TensorRole.values()) live[r.ordinal()][in.pos()] += s.heldBytes(r, step);
            if (copies != null && s.inFlight().during(step))
                for (int r = 0; r < copies.length; r++) live[r][in.pos()] += copies[r];
        }
    }

    /** Per role, the bytes the other micro-batches in flight hold of the tensors the plan keeps on the device. */
    static long[] inFlightByRole(Schedule s, Plan plan) {
        InFlightCopies f = s.inFlight();
        if (f == null) return null;
        long[] out = new long[TensorRole.values().length];
        for (int t = 0; t < s.tensorCount(); t++) {
            long b = f.bytes(t);
            if (b == 0) continue;
            Decision d = plan.decision(t);
            long held = d instanceof Decision.Keep || d instanceof Decision.Share ? b : 0;
            // an encoded copy per micro-batch, unless it goes to the host
            if (d instanceof Decision.Compress c && !c.swap()) held = Math.min(b, Math.round((double) b
                    * c.codec().encodedBytes(s.tensor(t).shape().numel(), c.density())
                    / Math.max(1, s.tensor(t).bytes())));
            out[s.tensor(t).role().ordinal()] += held;
        }
        return out;
    }

    /** Host bytes held from each swap-out until its swap-in. */
    private static long[] hostBytes(ExecutionSchedule es, int n) {
        long[] diff = new long[n + 1];
        Map<Integer, Integer> outPos = new HashMap<>();
        for (Instr in : es.instrs()) {
            if (in.kind() == InstrKind.SWAP_OUT) outPos.put(in.buffers()[0], in.pos());
            else if (in.kind() == InstrKind.SWAP_IN) {
                Integer from = outPos.remove(in.buffers()[1]);
                if (from != null) {
                    diff[from] += in.bytes();
                    diff[in.pos() + 1] -= in.bytes();
                }
            }
        }
        long[] h = new long[n];
        long acc = 0;
        for (int i = 0; i < n; i++) h[i] = acc += diff[i];
        return h;
    }
}
