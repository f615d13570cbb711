package memplan.exec;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.graph.ValueKind;
import memplan.ir.DType;
import memplan.ops.CrossEntropy;
import memplan.ops.Embedding;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small seeded data set for any model, generated in code: a few fixed batches that the training loop cycles
 * through, so a model can learn them and the loss visibly falls. Float inputs are standard normal; token inputs are
 * valid indices of the Embedding that reads them; class targets are valid classes of the loss that reads them and
 * follow a fixed rule of the first input (so there is a pattern to learn, not only noise to memorise).
 * Values are raw 4-byte words as the backend stores them (int64 as two words, low first).
 */
public final class SyntheticData {
    public static final int BATCHES = 4;
    private final List<float[][]> batches = new ArrayList<>();
    private final int[] dataValues;

    public SyntheticData(Graph g, long seed) {
        List<Integer> data = new ArrayList<>();
        for (Value v : g.values()) if (v.kind() == ValueKind.DATA) data.add(v.id());
        dataValues = data.stream().mapToInt(Integer::intValue).toArray();
        for (int b = 0; b < BATCHES; b++) {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + b);
            float[][] words = new float[dataValues.length][];
            float[] firstFloat = null;
            for (int k = 0; k < dataValues.length; k++) {
                Value v = g.value(dataValues[k]);
                int n = (int) v.shape().numel();
                if (v.dtype().floating) {
                    float[] w = new float[n];
                    for (int i = 0; i < n; i++) w[i] = (float) gaussian(r);
                    if (firstFloat == null) firstFloat = w;
                    words[k] = w;
                } else {
                    int range = indexRange(g, v);
                    long[] idx = new long[n];
                    if (isTarget(g, v) && firstFloat != null && n > 0) {
                        // A learnable rule: the class follows the sign pattern of the sample's first inputs.
                        int per = Math.max(1, firstFloat.length / v.shape().dim(0));
                        int samples = v.shape().dim(0), each = n / samples;
                        for (int s = 0; s < samples; s++)
                            for (int j = 0; j < each; j++) {
                                float x = firstFloat[Math.min(firstFloat.length - 1, s * per + j % per)];
                                idx[s * each + j] = Math.floorMod((int) Math.floor(x * 2) + j, range);
                            }
                    } else if (isTarget(g, v) || range > 1) {
                        // Token streams follow t[i+1] = (3 t[i] + 1) mod V from a random start: a pattern to learn.
                        int rows = v.shape().rank() > 1 ? v.shape().dim(0) : 1, cols = n / Math.max(rows, 1);
                        for (int row = 0; row < rows; row++) {
                            long t = r.nextInt(range);
                            for (int c = 0; c < cols; c++) {
                                idx[row * cols + c] = t;
                                t = (3 * t + 1) % range;
                            }
                        }
                    }
                    words[k] = pack(idx, v.dtype());
                }
            }
            batches.add(words);
        }
    }

    /** Values of the model's data inputs, in order. */
    public int[] dataValues() {
        return dataValues.clone();
    }

    /** Words to upload for data input k in iteration {@code iteration}. */
    public float[] words(int iteration, int k) {
        return batches.get(iteration % BATCHES)[k];
    }

    private static boolean isTarget(Graph g, Value v) {
        for (Node n : g.nodes())
            for (int i = 0; i < n.inputs().length; i++)
                if (n.inputs()[i] == v.id() && n.op() instanceof CrossEntropy && i == 1) return true;
        return false;
    }

    /** Valid indices: the class count of the loss or the table size of the embedding that reads the input. */
    private static int indexRange(Graph g, Value v) {
        int range = Integer.MAX_VALUE;
        for (Node n : g.nodes())
            for (int i = 0; i < n.inputs().length; i++) {
                if (n.inputs()[i] != v.id()) continue;
                if (n.op() instanceof Embedding e) range = Math.min(range, e.numEmbeddings());
                else if (n.op() instanceof CrossEntropy ce && i == 1) {
                    var logits = n.inShapes().get(0);
                    int ax = ce.classAxis() < 0 ? logits.rank() + ce.classAxis() : ce.classAxis();
                    range = Math.min(range, logits.dim(ax));
                }
            }
        return range == Integer.MAX_VALUE ? 2 : range;
    }

    private static float[] pack(long[] idx, DType dtype) {
        if (dtype == DType.INT64) {
            float[] w = new float[2 * idx.length];
            for (int i = 0; i < idx.length; i++) {
                w[2 * i] = Float.intBitsToFloat((int) idx[i]);
                w[2 * i + 1] = Float.intBitsToFloat((int) (idx[i] >>> 32));
            }
            return w;
        }
        if (dtype == DType.BOOL) { // one byte per element, four per 4-byte word (as the CPU backend's Buf)
            int[] bits = new int[(idx.length + 3) / 4];
            for (int i = 0; i < idx.length; i++) bits[i >> 2] |= (idx[i] != 0 ? 1 : 0) << ((i & 3) << 3);
            float[] w = new float[bits.length];
            for (int i = 0; i < w.length; i++) w[i] = Float.intBitsToFloat(bits[i]);
            return w;
        }
        float[] w = new float[idx.length];
        for (int i = 0; i < idx.length; i++) w[i] = Float.intBitsToFloat((int) idx[i]);
        return w;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
