package memplan.planner;

import com.google.ortools.linearsolver.MPConstraint;
import com.google.ortools.linearsolver.MPObjective;
import com.google.ortools.linearsolver.MPSolver;
import com.google.ortools.linearsolver.MPVariable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A lower bound on {@link RematModel}'s least recompute time from the linear relaxation of a time-indexed form of the
 * same problem (in the manner of Checkmate, Jain et al. MLSys 2020), solved by GLOP from the OR-Tools jar, on a few
 * chosen steps. Variables: {@code Q[p][y]}, how many times op p re-runs after step y (so p's re-runs in (y, n] are
 * {@code Q[p][y] - Q[p][n]}, and its cost is its price times its re-runs), and {@code H[t][y]}, a copy of candidate
 * t exists at step y. Each constraint is implied by the CP-SAT model:
 * <ul>
 *   <li>a copy at n was there at the step y before (of those chosen) or was rebuilt in (y, n];</li>
 *   <li>backward reads find a copy; the chosen steps' copies fit the budget beside what the model does not decide;</li>
 *   <li>input availability: where t is freed at y and read at n, its producer re-runs in (y, n] and finds each
 *       candidate input i held at y or rebuilt in (y, n]; rebuilt, i's producer finds its inputs j so too:
 *       {@code H[t][y] + H[i][y] + R[p_i](y, n] >= 1}, {@code H[t][y] + H[i][y] + H[j][y] + R[p_j](y, n] >= 1};</li>
 *   <li>an op c that re-runs after y at most r times finds its input i there: {@code H[i][y] + Q[p_i][y] >=
 *       Q[c][y] / r}.</li>
 * </ul>
 * Without the input rows this LP spreads a re-run thinly over many stages, each needing a thin copy of its inputs,
 * and is weaker than the per-step knapsack cuts; with them a freed copy needs the whole of its inputs.
 *
 * <p>The bound is not GLOP's objective but one computed from its row duals by weak duality (every variable is
 * bounded), so it is valid for any duals, at any tolerance.
 */
final class TimeIndexedBound {
    private TimeIndexedBound() {
    }

    /** An op of the model: its price per re-run, its most re-runs, the (sorted) backward steps it may re-run before. */
    record Op(long price, int runs, int[] stages) {
    }

    /**
     * A candidate tensor of op {@code op}: held from {@code born} through {@code lastForward}, read by backward at
     * {@code reads} (sorted, after {@code lastForward}), read by the re-runs of the ops {@code readers}, no copy needed
     * after {@code horizon}.
     */
    record Tensor(int op, long bytes, int born, int lastForward, int[] reads, int[] readers, int horizon) {
    }

    /** The bound in the ops' price unit (0 when none), the seconds spent, the LP's size and GLOP's status. */
    record Result(double bound, double seconds, int variables, int rows, String status) {
    }

    /** At most this many variables; a larger LP is not tried. */
    static final int MAX_VARIABLES = 200_000;

    /** Memory rows at this many steps at most: those where keeping every copy is furthest over the budget. */
    static final int STEPS = 64;

    /** GLOP's parameters (text format); -Dmemplan.glopParams="..." replaces them, for trials. */
    static final String GLOP_PARAMS = "use_dual_simplex:true";

    private record Row(int[] vars, double[] coefs, double lo, double hi) {
    }

    /** The LP under construction: variables with bounds and costs, rows. */
    private static final class Lp {
        final List<double[]> vars = new ArrayList<>(); // {lo, hi, cost}
        final List<Row> rows = new ArrayList<>();

        int var(double lo, double hi, double cost) {
            vars.add(new double[]{lo, hi, cost});
            return vars.size() - 1;
        }

        /** A row; a variable named twice (Q[p][y] and Q[p][n] where both are Q before p's first stage) once. */
        void row(List<int[]> terms, double[] coefs, double lo, double hi) {
            TreeMap<Integer, Double> merged = new TreeMap<>();
            for (int k = 0; k < terms.size(); k++) merged.merge(terms.get(k)[0], coefs[k], Double::sum);
            merged.values().removeIf(c -> c == 0);
            int[] vs = new int[merged.size()];
            double[] cs = new double[vs.length];
            int k = 0;
            for (Map.Entry<Integer, Double> e : merged.entrySet()) {
                vs[k] = e.getKey();
                cs[k++] = e.getValue();
            }
            rows.add(new Row(vs, cs, lo, hi));
        }
    }

    /**
     * Solves the relaxation within {@code until}. {@code room[y]}: the budget less what step y holds besides the
     * candidates. {@code inputRows}: with the input-availability rows (false: for comparing, in tests).
     */
    static Result solve(List<Op> ops, List<Tensor> tensors, long[] room, Deadline until, boolean inputRows) {
        long t0 = System.nanoTime();
        int steps = room.length;
        // Steps whose memory rows are kept: where keeping every copy is furthest over the budget.
        long[] forced = new long[steps + 1], all = new long[steps + 1];
        for (Tensor t : tensors) {
            forced[t.born()] += t.bytes();
            forced[t.lastForward() + 1] -= t.bytes();
            all[t.born()] += t.bytes();
            all[Math.max(t.lastForward(), t.horizon()) + 1] -= t.bytes();
        }
        long f = 0, a = 0;
        long[] fixedHeld = new long[steps];
        List<long[]> over = new ArrayList<>();
        for (int y = 0; y < steps; y++) {
            f += forced[y];
            a += all[y];
            fixedHeld[y] = f;
            if (room[y] - f < 0) return result(0, t0, 0, 0, "infeasible");
            if (a > room[y] && a > f) over.add(new long[]{y, a - room[y]});
        }
        over.sort((x, z) -> Long.compare(z[1], x[1]));
        TreeSet<Integer> chosen = new TreeSet<>();
        for (int k = 0; k < Math.min(STEPS, over.size()); k++) chosen.add((int) over.get(k)[0]);
        if (chosen.isEmpty()) return result(0, t0, 0, 0, "nothing over the budget");

        Lp lp = new Lp();
        double unit = 1; // prices in units of the dearest op: GLOP's tolerances are absolute
        for (Op op : ops) unit = Math.max(unit, op.price());
        List<TreeMap<Integer, Integer>> q = new ArrayList<>(); // per op: step -> Q variable
        for (int p = 0; p < ops.size(); p++) q.add(new TreeMap<>());
        List<TreeMap<Integer, Integer>> h = new ArrayList<>(); // per tensor: step -> H variable
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            TreeMap<Integer, Integer> hv = new TreeMap<>();
            if (t.horizon() > t.lastForward())
                for (int y : chosen.subSet(t.lastForward() + 1, true, t.horizon(), true)) hv.put(y, lp.var(0, 1, 0));
            for (int y : t.reads()) if (y > t.lastForward()) hv.put(y, lp.var(1, 1, 0));
            h.add(hv);
        }
        // persistence between consecutive steps of each tensor
        for (int i = 0; i < tensors.size(); i++) {
            until.check("while bounding the model");
            Tensor t = tensors.get(i);
            Integer prev = null;
            for (Map.Entry<Integer, Integer> e : h.get(i).entrySet()) {
                if (prev != null) {
                    List<int[]> terms = new ArrayList<>();
                    terms.add(new int[]{e.getValue()});
                    terms.add(new int[]{h.get(i).get(prev)});
                    double[] cs = window(lp, ops, q, t.op(), prev, e.getKey(), terms, new double[]{1, -1}, -1);
                    lp.row(terms, cs, Double.NEGATIVE_INFINITY, 0); // H[t][n] - H[t][y] - R(y, n] <= 0
                }
                prev = e.getKey();
            }
        }
        List<List<Integer>> inputs = new ArrayList<>();
        for (int p = 0; p < ops.size(); p++) inputs.add(new ArrayList<>());
        for (int i = 0; i < tensors.size(); i++) for (int c : tensors.get(i).readers()) inputs.get(c).add(i);
        for (int y : chosen) {
            until.check("while bounding the model");
            // memory
            List<int[]> terms = new ArrayList<>();
            List<Double> cs = new ArrayList<>();
            double scale = Math.max(1, room[y] - fixedHeld[y]);
            for (int i = 0; i < tensors.size(); i++) {
                Integer v = h.get(i).get(y);
                if (v == null) continue;
                terms.add(new int[]{v});
                cs.add(tensors.get(i).bytes() / scale);
            }
            if (!terms.isEmpty())
                lp.row(terms, cs.stream().mapToDouble(Double::doubleValue).toArray(), Double.NEGATIVE_INFINITY,
                        (room[y] - fixedHeld[y]) / scale);
            if (!inputRows) continue;
            for (int ti = 0; ti < tensors.size(); ti++) {
                Tensor t = tensors.get(ti);
                if (ops.get(t.op()).runs() == 0 || !h.get(ti).containsKey(y)) continue;
                int at = Arrays.binarySearch(t.reads(), y + 1);
                at = at >= 0 ? at : -at - 1;
                if (at == t.reads().length) continue;
                int n = t.reads()[at]; // the next backward read
                for (int i : inputs.get(t.op())) {
                    List<int[]> base = new ArrayList<>();
                    base.add(new int[]{h.get(ti).get(y)});
                    if (!present(h, tensors, i, y, base)) continue;
                    List<int[]> r1 = new ArrayList<>(base);
                    lp.row(r1, window(lp, ops, q, tensors.get(i).op(), y, n, r1, ones(base.size()), 1), 1,
                            Double.POSITIVE_INFINITY);
                    if (ops.get(tensors.get(i).op()).runs() == 0) continue;
                    for (int j : inputs.get(tensors.get(i).op())) {
                        List<int[]> r2 = new ArrayList<>(base);
                        if (!present(h, tensors, j, y, r2)) continue;
                        lp.row(r2, window(lp, ops, q, tensors.get(j).op(), y, n, r2, ones(r2.size()), 1), 1,
                                Double.POSITIVE_INFINITY);
                    }
                }
            }
            // an op re-running after y finds its inputs: H[i][y] + Q[p_i][y] - Q[c][y] / runs >= 0
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                if (y <= t.lastForward()) continue;
                for (int c : t.readers()) {
                    int qc = qVar(lp, ops, q, c, y);
                    if (qc < 0) continue;
                    List<int[]> terms2 = new ArrayList<>();
                    List<Double> c2 = new ArrayList<>();
                    Integer hv = h.get(i).get(y);
                    if (hv != null) {
                        terms2.add(new int[]{hv});
                        c2.add(1.0);
                    }
                    int qp = qVar(lp, ops, q, t.op(), y);
                    if (qp >= 0) {
                        terms2.add(new int[]{qp});
                        c2.add(1.0);
                    }
                    terms2.add(new int[]{qc});
                    c2.add(-1.0 / ops.get(c).runs());
                    lp.row(terms2, c2.stream().mapToDouble(Double::doubleValue).toArray(), 0, Double.POSITIVE_INFINITY);
                }
            }
        }
        // Q is non-increasing in y, by at most one re-run per stage; Q before the first stage is the cost
        for (int p = 0; p < ops.size(); p++) {
            Op op = ops.get(p);
            if (op.runs() == 0) continue;
            int first = qVar(lp, ops, q, p, op.stages()[0] - 1);
            lp.vars.get(first)[2] = op.price() / unit;
            Integer prev = null;
            for (Map.Entry<Integer, Integer> e : q.get(p).entrySet()) {
                if (prev != null) {
                    int stagesBetween = countIn(op.stages(), prev, e.getKey());
                    List<int[]> terms = List.of(new int[]{q.get(p).get(prev)}, new int[]{e.getValue()});
                    lp.row(terms, new double[]{1, -1}, 0, stagesBetween);
                }
                prev = e.getKey();
            }
            // the last: at most the stages after it
            lp.row(List.of(new int[]{q.get(p).get(prev)}), new double[]{1}, 0,
                    countIn(op.stages(), prev, Integer.MAX_VALUE));
        }
        int nv = lp.vars.size();
        if (nv > MAX_VARIABLES) return result(0, t0, nv, lp.rows.size(), "too large");
        return glop(lp, unit, until, t0);
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        Arrays.fill(a, 1);
        return a;
    }

    /** Stages of {@code stages} in (after, upTo]. */
    private static int countIn(int[] stages, int after, int upTo) {
        int lo = Arrays.binarySearch(stages, after + 1), hi = Arrays.binarySearch(stages, upTo);
        lo = lo >= 0 ? lo : -lo - 1;
        hi = hi >= 0 ? hi + 1 : -hi - 1;
        return Math.max(0, hi - lo);
    }

    /** Adds H[i][y] to the terms; false where the forward copy is there at y (a row would hold anyway). */
    private static boolean present(List<TreeMap<Integer, Integer>> h, List<Tensor> tensors, int i, int y,
                                   List<int[]> terms) {
        if (y <= tensors.get(i).lastForward()) return false;
        Integer v = h.get(i).get(y);
        if (v != null) terms.add(new int[]{v}); // past the horizon no copy is needed: 0
        return true;
    }

    /**
     * Appends {@code sign} x R[p](y, n] = sign x (Q[p][y] - Q[p][n]) to the terms and returns all coefficients:
     * {@code head} for the terms already there.
     */
    private static double[] window(Lp lp, List<Op> ops, List<TreeMap<Integer, Integer>> q, int p, int y, int n,
                                   List<int[]> terms, double[] head, double sign) {
        List<Double> cs = new ArrayList<>();
        for (double c : head) cs.add(c);
        int a = qVar(lp, ops, q, p, y), b = qVar(lp, ops, q, p, n);
        if (a >= 0) {
            terms.add(new int[]{a});
            cs.add(sign);
        }
        if (b >= 0) {
            terms.add(new int[]{b});
            cs.add(-sign);
        }
        return cs.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Q[p][y]'s variable (made on first use), or -1 where it is 0: no stage of p after y. */
    private static int qVar(Lp lp, List<Op> ops, List<TreeMap<Integer, Integer>> q, int p, int y) {
        Op op = ops.get(p);
        if (op.runs() == 0 || y >= op.stages()[op.stages().length - 1]) return -1;
        int key = Math.max(y, op.stages()[0] - 1);
        return q.get(p).computeIfAbsent(key, k -> lp.var(0, op.runs(), 0));
    }

    private static Result result(double bound, long t0, int variables, int rows, String status) {
        return new Result(bound, (System.nanoTime() - t0) / 1e9, variables, rows, status);
    }

    private static Result glop(Lp model, double unit, Deadline until, long t0) {
        int nv = model.vars.size();
        double[] lo = new double[nv], hi = new double[nv], cost = new double[nv];
        for (int j = 0; j < nv; j++) {
            lo[j] = model.vars.get(j)[0];
            hi[j] = model.vars.get(j)[1];
            cost[j] = model.vars.get(j)[2];
        }
        List<Row> rows = model.rows;
        MPSolver lp = MPSolver.createSolver("GLOP");
        if (lp == null) return result(0, t0, nv, rows.size(), "no GLOP");
        try {
            MPVariable[] x = new MPVariable[nv];
            for (int j = 0; j < nv; j++) x[j] = lp.makeNumVar(lo[j], hi[j], "");
            MPConstraint[] cons = new MPConstraint[rows.size()];
            for (int k = 0; k < rows.size(); k++) {
                Row row = rows.get(k);
                cons[k] = lp.makeConstraint(row.lo(), row.hi(), "");
                for (int j = 0; j < row.vars().length; j++) cons[k].setCoefficient(x[row.vars()[j]], row.coefs()[j]);
            }
            MPObjective obj = lp.objective();
            for (int j = 0; j < nv; j++) if (cost[j] != 0) obj.setCoefficient(x[j], cost[j]);
            obj.setMinimization();
            lp.setTimeLimit(Math.max(1, Math.round(until.leftSeconds() * 1000)));
            String params = System.getProperty("memplan.glopParams", GLOP_PARAMS);
            if (!params.isBlank()) lp.setSolverSpecificParametersAsString(params);
            MPSolver.ResultStatus st = lp.solve();
            if (st == MPSolver.ResultStatus.INFEASIBLE) return result(0, t0, nv, rows.size(), "infeasible");
            if (st != MPSolver.ResultStatus.OPTIMAL && st != MPSolver.ResultStatus.FEASIBLE)
                return result(0, t0, nv, rows.size(), st.name());
            double[] y = new double[rows.size()];
            for (int k = 0; k < rows.size(); k++) y[k] = cons[k].dualValue();
            double bound = dualBound(rows, y, cost, lo, hi) * unit;
            return result(Math.max(0, bound), t0, nv, rows.size(), st.name());
        } finally {
            lp.delete();
        }
    }

    /**
     * Weak duality for any row multipliers y: cost.x = sum_i y_i (a_i.x) + d.x with d = cost - A'y, and each term
     * is at least its least value over the row's (the variable's) bounds.
     */
    private static double dualBound(List<Row> rows, double[] y, double[] cost, double[] lo, double[] hi) {
        double[] d = cost.clone();
        double b = 0;
        for (int k = 0; k < rows.size(); k++) {
            Row row = rows.get(k);
            double yk = y[k];
            if (yk > 0 && row.lo() == Double.NEGATIVE_INFINITY) yk = 0;
            if (yk < 0 && row.hi() == Double.POSITIVE_INFINITY) yk = 0;
            if (yk == 0 || Double.isNaN(yk)) continue;
            b += yk > 0 ? yk * row.lo() : yk * row.hi();
            for (int j = 0; j < row.vars().length; j++) d[row.vars()[j]] -= yk * row.coefs()[j];
        }
        for (int j = 0; j < d.length; j++) b += d[j] > 0 ? d[j] * lo[j] : d[j] * hi[j];
        return b;
    }
}
