package memplan.app.ui.timeline;

import memplan.lower.Buffer;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Instr;
import memplan.lower.InstrKind;
import memplan.sim.SimResult;
import memplan.sim.Timeline;
import memplan.sim.TimelineEvent;
import memplan.train.Phase;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The timeline of a simulated plan: one sample per instruction of the lowered schedule, placed at its start time in
 * milliseconds, with swap, recompute, codec and stall markers. Which tensor occupies each buffer segment comes from
 * the instructions' bindings (shared buffers hold several tensors one after another).
 */
public final class SimTimeline {
    private SimTimeline() {
    }

    public static TimelineData of(SimResult r) {
        ExecutionSchedule es = r.execution();
        Schedule s = es.schedule();
        Timeline tl = r.timeline();
        int n = tl.positions();
        double[] x = new double[n + 1];
        double prev = 0;
        for (int i = 0; i < n; i++) {
            double t = tl.positionSeconds()[i] * 1000;
            if (!(t >= prev)) t = prev; // copy-stream instructions may start before the compute before them ends
            x[i] = t;
            prev = t;
        }
        x[n] = Math.max(prev, r.iterationSeconds() * 1000);
        if (x[n] <= x[0]) x[n] = x[0] + 1e-6;
        String[] labels = new String[n];
        for (Instr in : es.instrs()) labels[in.pos()] = label(s, in);
        long[][] byRole = new long[tl.liveByRole().length][];
        for (int k = 0; k < byRole.length; k++) byRole[k] = tl.liveByRole()[k];
        List<TimelineData.Marker> markers = new ArrayList<>();
        for (TimelineEvent e : tl.events()) {
            TimelineData.MarkerKind k = switch (e.kind()) {
                case SWAP_OUT -> TimelineData.MarkerKind.SWAP_OUT;
                case SWAP_IN -> TimelineData.MarkerKind.SWAP_IN;
                case RECOMPUTE -> TimelineData.MarkerKind.RECOMPUTE;
                case ENCODE -> TimelineData.MarkerKind.ENCODE;
                case DECODE -> TimelineData.MarkerKind.DECODE;
                case STALL -> TimelineData.MarkerKind.STALL;
                default -> null;
            };
            if (k != null) markers.add(new TimelineData.Marker(e.startSeconds() * 1000, e.endSeconds() * 1000,
                    k, e.tensor(), e.label()));
        }
        double bwd = Double.NaN, opt = Double.NaN;
        for (Instr in : es.instrs()) {
            if (in.kind() != InstrKind.COMPUTE) continue;
            var ph = s.step(in.step()).phase();
            if (Double.isNaN(bwd) && ph == Phase.BACKWARD) bwd = x[in.pos()];
            if (Double.isNaN(opt) && ph == Phase.OPTIMIZER) opt = x[in.pos()];
        }
        return new TimelineData("ms", x, labels, byRole, tl.hostBytes(), r.peakPosition(),
                r.peakBytes(), List.copyOf(markers),
                new BufferLifetimes(es, x), bwd, opt);
    }

    private static String label(Schedule s, Instr in) {
        String t = in.tensor() >= 0 ? s.tensor(in.tensor()).name() : "";
        return switch (in.kind()) {
            case COMPUTE -> "step " + in.step() + ": " + s.step(in.step()).label();
            case RECOMPUTE -> "recompute " + s.graph().nodes().get(in.node()).name();
            case ENCODE -> "encode " + t;
            case DECODE -> "decode " + t;
            case SWAP_OUT -> "swap out " + t;
            case SWAP_IN -> "swap in " + t;
            case RELEASE -> "release " + t;
        };
    }

    /** Tensor of each buffer segment, found lazily from the instructions' bindings. */
    static final class BufferLifetimes implements TimelineData.Lifetimes {
        private final ExecutionSchedule es;
        private final double[] x;
        private int[][] segTensor; // [buffer][segment]

        BufferLifetimes(ExecutionSchedule es, double[] x) {
            this.es = es;
            this.x = x;
        }

        /** The segment tensors, computed on first use: the tensor bound to the buffer within each segment. */
        private int[][] segTensor() {
            if (segTensor != null) return segTensor;
            List<Buffer> bs = es.buffers();
            int[][] st = new int[bs.size()][];
            for (Buffer b : bs) {
                st[b.id()] = new int[b.segStart().length];
                Arrays.fill(st[b.id()], -1);
            }
            for (Instr in : es.instrs()) {
                for (int k = 0; k < in.tensors().length; k++) {
                    int b = in.buffers()[k];
                    if (b < 0 || b >= bs.size()) continue;
                    Buffer buf = bs.get(b);
                    for (int sgi = 0; sgi < buf.segStart().length; sgi++)
                        if (buf.segStart()[sgi] <= in.pos() && in.pos() <= buf.segEnd()[sgi] && st[b][sgi] < 0)
                            st[b][sgi] = in.tensors()[k];
                }
            }
            for (Buffer b : bs) for (int sgi = 0; sgi < st[b.id()].length; sgi++) if (st[b.id()][sgi] < 0)
                st[b.id()][sgi] = b.tensor();
            segTensor = st;
            return st;
        }

        @Override
        public double[] intervals(int tensor) {
            int[][] st = segTensor();
            List<double[]> out = new ArrayList<>();
            for (Buffer b : es.buffers())
                for (int sgi = 0; sgi < st[b.id()].length; sgi++)
                    if (st[b.id()][sgi] == tensor) out.add(new double[]{x[b.segStart()[sgi]], x[b.segEnd()[sgi] + 1]});
            out.sort((p, q) -> Double.compare(p[0], q[0]));
            double[] r = new double[out.size() * 2];
            for (int i = 0; i < out.size(); i++) {
                r[2 * i] = out.get(i)[0];
                r[2 * i + 1] = out.get(i)[1];
            }
            return r;
        }

        @Override
        public int[] liveAt(int sample) {
            int[][] st = segTensor();
            List<Integer> ids = new ArrayList<>();
            Set<Integer> seen = new HashSet<>();
            for (Buffer b : es.buffers())
                for (int sgi = 0; sgi < st[b.id()].length; sgi++)
                    if (b.segStart()[sgi] <= sample && sample <= b.segEnd()[sgi] && seen.add(st[b.id()][sgi]))
                        ids.add(st[b.id()][sgi]);
            return Timelines.bySizeDescending(es.schedule(), ids);
        }

        /** Bytes each tensor's buffers occupy at a position (encoded copies count at their encoded size). */
        long[] bytesAt(int pos) {
            int[][] st = segTensor();
            long[] out = new long[es.schedule().tensorCount()];
            for (Buffer b : es.buffers())
                for (int sgi = 0; sgi < st[b.id()].length; sgi++)
                    if (b.segStart()[sgi] <= pos && pos <= b.segEnd()[sgi]) out[st[b.id()][sgi]] += b.bytes();
            return out;
        }
    }

    /** Device bytes each tensor holds at the peak of a simulation. */
    public static long[] tensorBytesAtPeak(TimelineData d) {
        if (d.lifetimes() instanceof BufferLifetimes bl) return bl.bytesAt(d.peakIndex());
        return null;
    }
}
