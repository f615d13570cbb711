package memplan.calibration;

import memplan.sim.CpuCostModel;
import memplan.sim.OpCostClass;
import memplan.train.Phase;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Turns probe times into a {@link CpuCostModel}: the executor's time per step and per iteration from each run's
 * iteration time beyond its steps; per streaming class and phase, and per op type of it and phase (kernels of one
 * class differ: a GELU costs several times a ReLU per byte), a line {@code seconds = call + bytes / bandwidth}
 * through its samples (least squares on relative error, so the small steps weigh as much as the large ones); per
 * product class, phase and shape the measured throughput.
 */
public final class CpuFit {
    /** Views may measure as nothing at the timer's resolution; other steps cannot. */
    static final double MIN_VIEW_SECONDS = 1e-9;
    /** The bandwidth of a class whose time does not grow with its bytes (it is all per-call cost). */
    static final double UNBOUNDED_BYTES_PER_SECOND = 1e15;

    private CpuFit() {
    }

    public static CpuCostModel fit(ProbeResults r) {
        double[] executor = executorSeconds(r.runs());
        Map<String, List<ProbeSample>> lines = new LinkedHashMap<>(), shapes = new LinkedHashMap<>();
        for (ProbeSample s : r.samples()) {
            if (!(s.seconds() > 0) && s.costClass() != OpCostClass.VIEW)
                throw new CalibrationException("the " + s.probe() + " probe measured no time (" + s.seconds()
                        + " s) for a " + s.costClass().label() + " step; the cpu device cannot be calibrated");
            if (s.costClass().product() && s.dims() != null && s.flops() > 0)
                shapes.computeIfAbsent(s.costClass() + " " + s.phase() + " " + s.dims(), k -> new ArrayList<>())
                        .add(s);
            else {
                lines.computeIfAbsent(s.costClass() + " " + s.phase(), k -> new ArrayList<>()).add(s);
                if (s.opType() != null) lines.computeIfAbsent(s.costClass() + " " + s.opType() + " " + s.phase(),
                        k -> new ArrayList<>()).add(s);
            }
        }
        List<CpuCostModel.ClassCost> costs = new ArrayList<>();
        for (Map.Entry<String, List<ProbeSample>> e : lines.entrySet())
            costs.add(line(e.getValue(), e.getKey().split(" ").length == 3 ? e.getValue().get(0).opType() : null,
                    true));
        List<CpuCostModel.ProductPoint> points = new ArrayList<>();
        for (List<ProbeSample> l : shapes.values()) {
            double flops = 0, secs = 0;
            for (ProbeSample s : l) {
                flops += s.flops();
                secs += s.seconds();
            }
            ProbeSample first = l.get(0);
            points.add(new CpuCostModel.ProductPoint(first.costClass(), first.phase(), first.dims(), flops / secs));
        }
        require(costs.stream().anyMatch(c -> c.costClass() == OpCostClass.POINTWISE && c.phase() == Phase.FORWARD),
                "no forward pointwise step");
        require(costs.stream().anyMatch(c -> c.costClass() == OpCostClass.OPTIMIZER), "no optimizer update");
        require(points.stream().anyMatch(p -> p.costClass() == OpCostClass.PRODUCT && p.phase() == Phase.FORWARD),
                "no forward matrix product");
        return new CpuCostModel(executor[0], executor[1], costs, points);
    }

    /**
     * The executor's time outside the steps: per probe the lower quartile over its runs of an iteration's time
     * outside its steps, then least squares over the probes (on relative error) of {@code perStep * steps +
     * perIteration + dataBytes / bandwidth} (the data batch's write, which a model pays once per iteration and
     * which is small beside its steps), each term at least 0. Returns per step and per iteration.
     */
    static double[] executorSeconds(List<ProbeResults.Run> runs) {
        Map<String, List<Double>> byProbe = new LinkedHashMap<>();
        Map<String, ProbeResults.Run> first = new LinkedHashMap<>();
        for (ProbeResults.Run run : runs) {
            if (run.steps() <= 0) continue;
            byProbe.computeIfAbsent(run.probe(), k -> new ArrayList<>())
                    .add(Math.max(0, run.iterationSeconds() - run.stepSeconds()));
            first.putIfAbsent(run.probe(), run);
        }
        int n = byProbe.size();
        double[][] x = new double[n][];
        double[] t = new double[n];
        int i = 0;
        for (Map.Entry<String, List<Double>> e : byProbe.entrySet()) {
            ProbeResults.Run run = first.get(e.getKey());
            // on relative error: a long probe's time outside its steps is no more exact than a short one's
            double g = Math.max(CpuProbes.quantile(e.getValue(), CpuProbes.TIME_QUANTILE), MIN_VIEW_SECONDS);
            x[i] = new double[]{run.steps() / g, 1 / g, run.dataBytes() / g};
            t[i++] = 1;
        }
        double[] c = nonNegativeLeastSquares(x, t);
        return new double[]{c[0], c[1]};
    }

    /**
     * Least squares of {@code x c = t} with every coefficient at least 0: solved with all terms, then again
     * without those that came out negative, until none does (enough for three terms).
     */
    static double[] nonNegativeLeastSquares(double[][] x, double[] t) {
        int k = x.length == 0 ? 3 : x[0].length;
        boolean[] on = new boolean[k];
        Arrays.fill(on, true);
        double[] c = new double[k];
        for (int round = 0; round <= k; round++) {
            int[] idx = IntStream.range(0, k).filter(j -> on[j]).toArray();
            double[] sol = idx.length == 0 || x.length < idx.length ? null : solve(x, t, idx);
            Arrays.fill(c, 0);
            if (sol == null) return c;
            boolean negative = false;
            for (int j = 0; j < idx.length; j++) {
                if (sol[j] < 0) {
                    on[idx[j]] = false;
                    negative = true;
                } else c[idx[j]] = sol[j];
            }
            if (!negative) return c;
        }
        return c;
    }

    /** The normal equations of the columns {@code idx}, by Gaussian elimination; null when singular. */
    private static double[] solve(double[][] x, double[] t, int[] idx) {
        int m = idx.length;
        double[][] a = new double[m][m + 1];
        for (int r = 0; r < x.length; r++)
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < m; j++) a[i][j] += x[r][idx[i]] * x[r][idx[j]];
                a[i][m] += x[r][idx[i]] * t[r];
            }
        for (int col = 0; col < m; col++) {
            int piv = col;
            for (int r = col + 1; r < m; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
            double[] tmp = a[col];
            a[col] = a[piv];
            a[piv] = tmp;
            if (Math.abs(a[col][col]) < 1e-300) return null;
            for (int r = 0; r < m; r++) {
                if (r == col) continue;
                double f = a[r][col] / a[col][col];
                for (int j = col; j <= m; j++) a[r][j] -= f * a[col][j];
            }
        }
        double[] out = new double[m];
        for (int i = 0; i < m; i++) out[i] = a[i][m] / a[i][i];
        return out;
    }

    /**
     * {@code call + bytes / bandwidth} through the samples, minimising the squared (relative) error; a negative call
     * cost becomes 0 (the line through the origin), a time that does not grow with bytes an unbounded bandwidth.
     */
    static CpuCostModel.ClassCost line(List<ProbeSample> l, String opType, boolean relative) {
        double[] x = new double[l.size()], t = new double[l.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = l.get(i).bytes();
            t[i] = l.get(i).seconds();
        }
        double[] ab = line(x, t, relative);
        double bw = ab[1] > 0 ? Math.min(1 / ab[1], UNBOUNDED_BYTES_PER_SECOND) : UNBOUNDED_BYTES_PER_SECOND;
        ProbeSample first = l.get(0);
        return new CpuCostModel.ClassCost(first.costClass(), opType, first.phase(), ab[0], bw);
    }

    /** Intercept and slope (both at least 0) of the line through {@code (x, t)}. */
    static double[] line(double[] xs, double[] ts, boolean relative) {
        double sw = 0, swx = 0, swxx = 0, swt = 0, swxt = 0;
        for (int i = 0; i < xs.length; i++) {
            double t = Math.max(ts[i], MIN_VIEW_SECONDS), x = xs[i], w = relative ? 1 / (t * t) : 1;
            sw += w;
            swx += w * x;
            swxx += w * x * x;
            swt += w * t;
            swxt += w * x * t;
        }
        double det = sw * swxx - swx * swx;
        double a, b;
        if (det > 1e-9 * sw * swxx) {
            a = (swxx * swt - swx * swxt) / det;
            b = (sw * swxt - swx * swt) / det;
        } else { // one size: all of it per call when the samples move nothing, else all of it bytes
            a = swxx > 0 ? 0 : swt / sw;
            b = swxx > 0 ? swxt / swxx : 0;
        }
        if (a < 0) {
            a = 0;
            b = swxx > 0 ? swxt / swxx : 0;
        }
        if (!(b > 0)) {
            b = 0;
            a = swt / sw;
        }
        return new double[]{a, b};
    }

    private static void require(boolean ok, String what) {
        if (!ok) throw new CalibrationException("the probes measured " + what + "; the cpu device cannot be "
                + "calibrated");
    }
}
