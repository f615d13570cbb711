package memplan.app.ui.timeline;

import memplan.ir.TensorRole;
import memplan.profile.Liveness;
import memplan.profile.MemoryProfile;
import memplan.train.Phase;
import memplan.train.Schedule;

import java.util.ArrayList;
import java.util.List;

/** The baseline timeline of a schedule: one sample per step, every tensor on the device from first to last use. */
public final class ProfileTimeline {
    private ProfileTimeline() {
    }

    public static TimelineData of(Schedule s, Liveness live, MemoryProfile p) {
        int n = s.stepCount();
        double[] x = new double[n + 1];
        String[] labels = new String[n];
        for (int i = 0; i <= n; i++) x[i] = i;
        for (int i = 0; i < n; i++) labels[i] = "step " + i + ": " + s.step(i).label();
        long[][] byRole = new long[TensorRole.values().length][];
        for (int r = 0; r < byRole.length; r++) byRole[r] = p.liveByRole()[r].clone();
        Timelines.Lifetimes lifetimes = new Timelines.Lifetimes() {
            @Override
            public double[] intervals(int tensor) {
                int a = Math.max(0, live.first(tensor)), b = Math.min(n - 1, live.last(tensor));
                return b < a ? new double[0] : new double[]{a, b + 1};
            }

            @Override
            public int[] liveAt(int sample) {
                List<Integer> ids = new ArrayList<>();
                for (int t = 0; t < s.tensorCount(); t++) if (live.liveAt(t, sample)) ids.add(t);
                return Timelines.bySizeDescending(s, ids);
            }
        };
        return new TimelineData("step", x, labels, byRole, new long[n], p.peakStep(),
                p.peakBytes(), List.of(), lifetimes,
                firstOf(s, Phase.BACKWARD), firstOf(s, Phase.OPTIMIZER));
    }

    static double firstOf(Schedule s, Phase ph) {
        for (var st : s.steps()) if (st.phase() == ph) return st.index();
        return Double.NaN;
    }
}
