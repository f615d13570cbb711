package memplan.app.ui.graph;

import org.jgrapht.graph.DefaultDirectedGraph;
import org.jgrapht.graph.DefaultEdge;
import org.jgrapht.traverse.TopologicalOrderIterator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A layered, top-down drawing of a DAG (Sugiyama style), free of JavaFX so it can be unit tested:
 * <ol>
 * <li>layers by longest path from the sources (a source is then pulled down to just above its first consumer, so
 * e.g. the labels input sits beside the loss instead of at the top);</li>
 * <li>edges that span several layers get dummy points, one per layer they cross;</li>
 * <li>order within layers by barycenter sweeps (down, then up), keeping the order with the fewest crossings;</li>
 * <li>coordinates: each layer centred, real nodes {@link #NODE_W} wide.</li>
 * </ol>
 * Edge i of the input is drawn as the polyline {@link #edgePath(int)}.
 */
public final class GraphLayout {
    public static final double NODE_W = 160, NODE_H = 34, H_GAP = 28, V_GAP = 30, DUMMY_W = 12;

    private final int nodeCount;
    private final int[] layer;
    private final double[] x, y;   // centre of each real node
    private final double[][] edgePaths;
    private final int layerCount;
    private final double width, height, minX;
    private final int crossings;

    private GraphLayout(int nodeCount, int[] layer, double[] x, double[] y, double[][] edgePaths,
            int layerCount, int crossings) {
        this.nodeCount = nodeCount;
        this.layer = layer;
        this.x = x;
        this.y = y;
        this.edgePaths = edgePaths;
        this.layerCount = layerCount;
        this.crossings = crossings;
        double lo = 0, hi = 0;
        for (int i = 0; i < nodeCount; i++) {
            lo = Math.min(lo, x[i] - NODE_W / 2);
            hi = Math.max(hi, x[i] + NODE_W / 2);
        }
        for (double[] p : edgePaths)
            for (int k = 0; k < p.length; k += 2) {
                lo = Math.min(lo, p[k]);
                hi = Math.max(hi, p[k]);
            }
        this.minX = lo;
        this.width = hi - lo;
        this.height = layerCount * (NODE_H + V_GAP) - V_GAP;
    }

    /** Lays out nodes 0..n-1 with directed edges {@code edges[i] = {from, to}}; the graph must be acyclic. */
    public static GraphLayout of(int n, int[][] edges) {
        DefaultDirectedGraph<Integer, DefaultEdge> g = new DefaultDirectedGraph<>(DefaultEdge.class);
        for (int i = 0; i < n; i++) g.addVertex(i);
        List<List<Integer>> preds = new ArrayList<>(), succs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            preds.add(new ArrayList<>());
            succs.add(new ArrayList<>());
        }
        for (int[] e : edges) {
            if (e[0] == e[1]) continue;
            if (!g.containsEdge(e[0], e[1])) g.addEdge(e[0], e[1]);
            preds.get(e[1]).add(e[0]);
            succs.get(e[0]).add(e[1]);
        }
        // 1. Longest-path layering in topological order (ties broken by node index: file order).
        List<Integer> topo = new ArrayList<>(n);
        new TopologicalOrderIterator<>(g, Comparator.<Integer>naturalOrder()).forEachRemaining(topo::add);
        int[] layer = new int[n];
        for (int v : topo) for (int p : preds.get(v)) layer[v] = Math.max(layer[v], layer[p] + 1);
        for (int i = topo.size() - 1; i >= 0; i--) {
            int v = topo.get(i);
            if (!preds.get(v).isEmpty() || succs.get(v).isEmpty()) continue;
            int min = Integer.MAX_VALUE;
            for (int s : succs.get(v)) min = Math.min(min, layer[s]);
            layer[v] = Math.max(0, min - 1);
        }
        int layers = 0;
        for (int l : layer) layers = Math.max(layers, l + 1);

        // 2. Dummy points: a chain of vertices n, n+1, ... per long edge.
        List<Integer> vLayer = new ArrayList<>();
        for (int l : layer) vLayer.add(l);
        List<int[]> chains = new ArrayList<>(); // per input edge: the vertices it passes through, both ends included
        List<List<Integer>> up = new ArrayList<>(), down = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            up.add(new ArrayList<>());
            down.add(new ArrayList<>());
        }
        for (int[] e : edges) {
            int a = e[0], b = e[1];
            if (a == b || layer[b] <= layer[a]) {
                chains.add(new int[]{a, b});
                continue;
            }
            int span = layer[b] - layer[a];
            int[] chain = new int[span + 1];
            chain[0] = a;
            chain[span] = b;
            for (int k = 1; k < span; k++) {
                int d = vLayer.size();
                vLayer.add(layer[a] + k);
                up.add(new ArrayList<>());
                down.add(new ArrayList<>());
                chain[k] = d;
            }
            for (int k = 0; k < span; k++) {
                down.get(chain[k]).add(chain[k + 1]);
                up.get(chain[k + 1]).add(chain[k]);
            }
            chains.add(chain);
        }
        int total = vLayer.size();
        List<List<Integer>> rows = new ArrayList<>();
        for (int l = 0; l < layers; l++) rows.add(new ArrayList<>());
        for (int v = 0; v < total; v++) rows.get(vLayer.get(v)).add(v); // real nodes first, in index order
        // 3. Barycenter sweeps.
        double[] pos = new double[total];
        setPositions(rows, pos);
        List<List<Integer>> best = copy(rows);
        int bestCross = crossings(rows, down, pos);
        for (int iter = 0; iter < 6; iter++) {
            boolean downward = iter % 2 == 0;
            for (int k = 0; k < layers; k++) {
                int l = downward ? k : layers - 1 - k;
                List<Integer> row = rows.get(l);
                double[] key = new double[total];
                for (int v : row) {
                    List<Integer> nb = downward ? up.get(v) : down.get(v);
                    if (nb.isEmpty()) key[v] = pos[v];
                    else {
                        double s = 0;
                        for (int u : nb) s += pos[u];
                        key[v] = s / nb.size();
                    }
                }
                row.sort(Comparator.comparingDouble((Integer v) -> key[v]).thenComparingDouble(v -> pos[v]));
                for (int i = 0; i < row.size(); i++) pos[row.get(i)] = i;
            }
            int c = crossings(rows, down, pos);
            if (c < bestCross) {
                bestCross = c;
                best = copy(rows);
            }
        }
        rows = best;
        setPositions(rows, pos);
        // 4. Coordinates: each row centred on x = 0.
        double[] vx = new double[total], vy = new double[total];
        for (int l = 0; l < layers; l++) {
            List<Integer> row = rows.get(l);
            double w = 0;
            for (int v : row) w += (v < n ? NODE_W : DUMMY_W) + H_GAP;
            w -= H_GAP;
            double cx = -w / 2;
            for (int v : row) {
                double vw = v < n ? NODE_W : DUMMY_W;
                vx[v] = cx + vw / 2;
                vy[v] = l * (NODE_H + V_GAP) + NODE_H / 2;
                cx += vw + H_GAP;
            }
        }
        double[][] paths = new double[chains.size()][];
        for (int i = 0; i < chains.size(); i++) {
            int[] ch = chains.get(i);
            double[] p = new double[ch.length * 2];
            for (int k = 0; k < ch.length; k++) {
                p[2 * k] = vx[ch[k]];
                p[2 * k + 1] = vy[ch[k]];
            }
            // Start at the bottom of the source box and end at the top of the target box.
            p[1] += NODE_H / 2;
            p[p.length - 1] -= NODE_H / 2;
            paths[i] = p;
        }
        return new GraphLayout(n, layer, Arrays.copyOf(vx, n), Arrays.copyOf(vy, n), paths, layers, bestCross);
    }

    private static void setPositions(List<List<Integer>> rows, double[] pos) {
        for (List<Integer> row : rows) for (int i = 0; i < row.size(); i++) pos[row.get(i)] = i;
    }

    private static List<List<Integer>> copy(List<List<Integer>> rows) {
        List<List<Integer>> c = new ArrayList<>();
        for (List<Integer> r : rows) c.add(new ArrayList<>(r));
        return c;
    }

    /** Edge crossings between adjacent layers for the current positions. */
    static int crossings(List<List<Integer>> rows, List<List<Integer>> down, double[] pos) {
        int c = 0;
        for (List<Integer> row : rows) {
            List<double[]> segs = new ArrayList<>();
            for (int v : row) for (int w : down.get(v)) segs.add(new double[]{pos[v], pos[w]});
            for (int i = 0; i < segs.size(); i++)
                for (int j = i + 1; j < segs.size(); j++) {
                    double[] a = segs.get(i), b = segs.get(j);
                    if ((a[0] - b[0]) * (a[1] - b[1]) < 0) c++;
                }
        }
        return c;
    }

    public int nodeCount() { return nodeCount; }
    public int layerOf(int node) { return layer[node]; }
    public int layerCount() { return layerCount; }
    /** Centre x of a node (the drawing spans {@link #minX()} .. minX + width). */
    public double x(int node) { return x[node]; }
    public double y(int node) { return y[node]; }
    public double minX() { return minX; }
    public double width() { return width; }
    public double height() { return height; }
    public int edgeCount() { return edgePaths.length; }
    /** x0, y0, x1, y1, ... from the bottom of the source to the top of the target. */
    public double[] edgePath(int edge) { return edgePaths[edge]; }
    /** Crossings between adjacent layers in the final order (dummy segments included). */
    public int crossings() { return crossings; }

    /** The node whose box contains the point, or -1. */
    public int nodeAt(double px, double py) {
        int l = (int) Math.floor(py / (NODE_H + V_GAP));
        for (int i = 0; i < nodeCount; i++) {
            if (layer[i] != l) continue;
            if (Math.abs(px - x[i]) <= NODE_W / 2 && Math.abs(py - y[i]) <= NODE_H / 2) return i;
        }
        return -1;
    }
}
