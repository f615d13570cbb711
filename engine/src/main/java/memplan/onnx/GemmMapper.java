package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.onnx.proto.Onnx.NodeProto;
import memplan.ops.Conv2d;
import memplan.ops.Conv3d;
import memplan.ops.ConvTranspose2d;
import memplan.ops.ConvTranspose3d;
import memplan.ops.Linear;
import memplan.ops.MatMul;
import memplan.ops.Pair;
import memplan.ops.Transpose;
import memplan.ops.Triple;

import java.util.Arrays;
import java.util.List;

/**
 * GEMM-like operators: Conv (1-D, 2-D, 3-D), ConvTranspose (1-D, 2-D), Gemm and MatMul (a constant operand is a
 * weight: Linear).
 */
final class GemmMapper implements OpMapper {
    private final Converter cv;

    GemmMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        return List.of(Signature.of("Conv", 2, 3), Signature.of("ConvTranspose", 2, 3), Signature.of("Gemm", 2, 3),
                Signature.of("MatMul", 2, 2), Signature.of("Einsum", 1, 2));
    }

    @Override
    public void convert(OnnxNode n) {
        switch (n.type()) {
            case "Conv" -> conv(n);
            case "ConvTranspose" -> convTranspose(n);
            case "Gemm" -> gemm(n);
            case "Einsum" -> einsum(n);
            default -> matMul(n);
        }
    }

    /** The weight of a convolution, which must have the input's rank; 1, 2 or 3 spatial axes. */
    private static Val.Const convWeight(OnnxNode n, Val x, String label) {
        Val.Const w = n.cst(1, "weight");
        if (x.rank() < 3 || x.rank() > 5)
            throw new Unsupported(label + " (" + (x.rank() - 2) + "-D)", "only 1-D, 2-D and 3-D convolution is "
                    + "supported");
        if (w.shape.length != x.rank()) throw n.error("the weight has rank " + w.shape.length + " but the input has "
                + "rank " + x.rank());
        return w;
    }

    private static int[] kernel(OnnxNode n, Val.Const w) {
        int r = w.shape.length - 2;
        int[] k = Spatial.ints(n, "kernel_shape", r, -1, 1);
        return k[0] < 0 ? Arrays.copyOfRange(w.shape, 2, w.shape.length) : k;
    }

    private static int group(OnnxNode n) {
        int g = n.attrSmallInt("group", 1);
        if (g < 1) throw n.error("the group count must be at least 1, got " + g);
        return g;
    }

    /** Conv over 1, 2 or 3 spatial axes; 1-D runs as a 2-D convolution of height 1 on views (as PyTorch does). */
    private void conv(OnnxNode n) {
        Val x = n.act(0);
        Val.Const w = convWeight(n, x, "Conv");
        Val.Const b = n.optCst(2, "bias");
        int group = group(n), r = x.rank() - 2;
        int[] k = kernel(n, w);
        int[] s = Spatial.ints(n, "strides", r, 1, 1), d = Spatial.ints(n, "dilations", r, 1, 1);
        int[] eff = new int[r];
        for (int i = 0; i < r; i++) eff[i] = d[i] * (k[i] - 1) + 1;
        int[] pads = Spatial.pads(n, Spatial.spatialSizes(x), eff, s);
        int[] sym = new int[r];
        for (int i = 0; i < r; i++) sym[i] = Math.min(pads[i], pads[i + r]);
        var weights = new Converter.Weight[]{new Converter.Weight("weight", w), new Converter.Weight("bias", b)};
        if (r == 3) {
            Val xin = Spatial.padExtra3d(cv, n, x, pads, sym);
            Conv3d op = new Conv3d(w.shape[0], new Triple(k[0], k[1], k[2]), new Triple(s[0], s[1], s[2]),
                    new Triple(sym[0], sym[1], sym[2]), new Triple(d[0], d[1], d[2]), group, b != null);
            n.put(0, n.emit(op, List.of(xin), weights));
            return;
        }
        boolean oneD = r == 1;
        if (oneD) {
            x = Spatial.as2d(cv, n, x);
            k = Spatial.lift(k, 1);
            s = Spatial.lift(s, 1);
            d = Spatial.lift(d, 1);
            pads = Spatial.liftPads(pads);
            sym = Spatial.lift(sym, 0);
        }
        Val xin = Spatial.padExtra(cv, n, x, pads, sym);
        Conv2d op = new Conv2d(w.shape[0], new Pair(k[0], k[1]), new Pair(s[0], s[1]), new Pair(sym[0], sym[1]),
                new Pair(d[0], d[1]), group, b != null);
        Val y = n.emit(op, List.of(xin), weights);
        n.put(0, oneD ? Spatial.from2d(cv, n, y) : y);
    }

    /** ConvTranspose over 1, 2 or 3 spatial axes; 1-D runs as the 2-D form of height 1 on views. */
    private void convTranspose(OnnxNode n) {
        Val x = n.act(0);
        Val.Const w = convWeight(n, x, "ConvTranspose");
        Val.Const b = n.optCst(2, "bias");
        int group = group(n), r = x.rank() - 2;
        int[] k = kernel(n, w);
        int[] s = Spatial.ints(n, "strides", r, 1, 1), d = Spatial.ints(n, "dilations", r, 1, 1);
        int[] op = Spatial.ints(n, "output_padding", r, 0, 0);
        int[] in = Spatial.spatialSizes(x);
        int[] pads = new int[2 * r];
        long[] outShape = n.attrInts("output_shape");
        if (outShape != null && outShape.length < r) throw n.error("output_shape needs at least " + r + " values");
        String auto = n.attrString("auto_pad", "NOTSET");
        if (outShape != null || auto.startsWith("SAME")) {
            for (int i = 0; i < r; i++) {
                int target = outShape != null ? (int) outShape[outShape.length - r + i] : in[i] * s[i];
                int total = Math.max(0, s[i] * (in[i] - 1) + op[i] + d[i] * (k[i] - 1) + 1 - target);
                pads[i] = auto.equals("SAME_LOWER") ? total - total / 2 : total / 2;
                pads[i + r] = total - pads[i];
            }
        } else if (n.attrInts("pads") != null) {
            pads = Spatial.nonNegative(n, n.attrInts("pads"));
            if (pads.length != 2 * r) throw n.error("pads must have " + 2 * r + " values for a " + r + "-D op, got "
                    + pads.length);
        }
        if (r == 3) {
            int[] p = new int[3], opad = new int[3];
            for (int i = 0; i < 3; i++) {
                p[i] = Math.max(pads[i], pads[i + 3]);
                opad[i] = op[i] + Math.abs(pads[i] - pads[i + 3]);
            }
            ConvTranspose3d ct = new ConvTranspose3d(w.shape[1] * group, new Triple(k[0], k[1], k[2]),
                    new Triple(s[0], s[1], s[2]), new Triple(p[0], p[1], p[2]), new Triple(opad[0], opad[1], opad[2]),
                    new Triple(d[0], d[1], d[2]), group, b != null);
            n.put(0, n.emit(ct, List.of(x), new Converter.Weight("weight", w), new Converter.Weight("bias", b)));
            return;
        }
        boolean oneD = r == 1;
        if (oneD) {
            x = Spatial.as2d(cv, n, x);
            k = Spatial.lift(k, 1);
            s = Spatial.lift(s, 1);
            d = Spatial.lift(d, 1);
            op = Spatial.lift(op, 0);
            pads = Spatial.liftPads(pads);
        }
        // padding p on both sides; the asymmetric remainder becomes output padding (same output size).
        int[] p = {Math.max(pads[0], pads[2]), Math.max(pads[1], pads[3])};
        int[] opad = {op[0] + Math.abs(pads[0] - pads[2]), op[1] + Math.abs(pads[1] - pads[3])};
        ConvTranspose2d ct = new ConvTranspose2d(w.shape[1] * group, new Pair(k[0], k[1]), new Pair(s[0], s[1]),
                new Pair(p[0], p[1]), new Pair(opad[0], opad[1]), new Pair(d[0], d[1]), group, b != null);
        Val y = n.emit(ct, List.of(x), new Converter.Weight("weight", w), new Converter.Weight("bias", b));
        n.put(0, oneD ? Spatial.from2d(cv, n, y) : y);
    }

    private void gemm(OnnxNode n) {
        if (n.attrInt("transA", 0) != 0)
            throw new Unsupported("Gemm (transA)", "Gemm with transA = 1 is not supported");
        Val a = n.act(0);
        Val bv = n.required(1, "B");
        Val c = n.in(2);
        boolean transB = n.attrInt("transB", 0) != 0;
        Val y;
        if (bv.isConst()) {
            if (bv.c.shape.length != 2) throw n.error("the weight B must be 2-D, got rank " + bv.c.shape.length);
            int out = transB ? bv.c.shape[0] : bv.c.shape[1];
            boolean bias = c != null && c.isConst() && c.c.numel() == out && c.c.initializer != null;
            y = n.emit(new Linear(out, bias), List.of(a), new Converter.Weight("weight", bv.c),
                    new Converter.Weight("bias", bias ? c.c : null));
            if (bias) c = null;
        } else {
            if (bv.transposeOf != null) bv = cv.materialize(bv);
            y = n.emit(new MatMul(transB), List.of(a, bv));
        }
        if (c != null) y = ElementwiseMapper.addOperand(cv, n, n.hint() + "/bias", y, c);
        n.put(0, y);
    }

    /**
     * Einsum in its common forms: a permutation of one operand ("bhqd->bqhd"), or a (batched) matrix product of
     * two tensors with one contracted label ("bij,bjk->bik", "bhqd,bhkd->bhqk", "ij,jk->ik"): the operands
     * transposed where needed, one MatMul (reading B transposed when its contracted label is last), the result
     * transposed to the output's order.
     */
    private void einsum(OnnxNode n) {
        String eq = n.attrString("equation", "").replace(" ", "");
        int arrow = eq.indexOf("->");
        if (arrow < 0 || eq.contains(".")) throw new Unsupported("Einsum (implicit output or ellipsis)", null);
        String[] ins = eq.substring(0, arrow).split(",", -1);
        String out = eq.substring(arrow + 2);
        if (ins.length != n.proto.getInputCount())
            throw n.error("the equation '" + eq + "' names " + ins.length + " operands for "
                    + n.proto.getInputCount() + " inputs");
        Val a = n.act(0);
        if (ins[0].length() != a.rank())
            throw n.error("the equation gives " + ins[0].length() + " labels for an operand of rank " + a.rank());
        if (ins.length == 1) {
            int[] perm = permutationOf(n, ins[0], out);
            n.put(0, isIdentity(perm) ? a : cv.emit(n.hint(), new Transpose(boxed(perm)), List.of(a)).get(0));
            return;
        }
        Val b = n.act(1);
        if (ins[1].length() != b.rank())
            throw n.error("the equation gives " + ins[1].length() + " labels for an operand of rank " + b.rank());
        String batch = "", i = "", k = "", c = "";
        for (char ch : ins[0].toCharArray()) {
            boolean inB = ins[1].indexOf(ch) >= 0, inOut = out.indexOf(ch) >= 0;
            if (inB && inOut) batch += ch;
            else if (inB) c += ch;
            else if (inOut) i += ch;
            else throw new Unsupported("Einsum (summed label)", "label '" + ch + "' of the first operand is summed");
        }
        for (char ch : ins[1].toCharArray())
            if (ins[0].indexOf(ch) < 0) {
                if (out.indexOf(ch) < 0) throw new Unsupported("Einsum (summed label)", "label '" + ch
                        + "' of the second operand is summed");
                k += ch;
            }
        if (c.length() != 1 || i.length() != 1 || k.length() != 1)
            throw new Unsupported("Einsum (" + eq + ")", "only products with one contracted, one row and one column "
                    + "label are supported");
        Val x = permuted(n, a, ins[0], batch + i + c);
        boolean transB = ins[1].endsWith(c); // q @ k^T: read B transposed, as PyTorch's einsum does
        Val y = permuted(n, b, ins[1], batch + (transB ? k + c : c + k));
        Val r = cv.emit(n.hint(), new MatMul(transB), List.of(x, y)).get(0);
        int[] perm = permutationOf(n, batch + i + k, out);
        n.put(0, isIdentity(perm) ? r : cv.emit(n.hint() + "/out", new Transpose(boxed(perm)), List.of(r)).get(0));
    }

    private Val permuted(OnnxNode n, Val v, String from, String to) {
        int[] perm = permutationOf(n, from, to);
        return isIdentity(perm) ? v : cv.emit(n.hint() + "/" + to, new Transpose(boxed(perm)), List.of(v)).get(0);
    }

    /** perm such that to[j] = from[perm[j]]; the labels must be the same, each once. */
    private static int[] permutationOf(OnnxNode n, String from, String to) {
        if (from.length() != to.length())
            throw new Unsupported("Einsum (" + from + "->" + to + ")", "labels are summed or repeated");
        int[] perm = new int[to.length()];
        for (int j = 0; j < perm.length; j++) {
            perm[j] = from.indexOf(to.charAt(j));
            if (perm[j] < 0 || from.indexOf(to.charAt(j), perm[j] + 1) >= 0)
                throw new Unsupported("Einsum (" + from + "->" + to + ")", "labels are summed or repeated");
        }
        return perm;
    }

    private static boolean isIdentity(int[] perm) {
        for (int j = 0; j < perm.length; j++) if (perm[j] != j) return false;
        return true;
    }

    private static List<Integer> boxed(int[] perm) {
        return Arrays.stream(perm).boxed().toList();
    }

    private void matMul(OnnxNode n) {
        Val a = n.act(0);
        Val b = n.required(1, "B");
        if (b.isConst()) {
            if (b.c.shape.length != 2) throw new Unsupported("MatMul (constant of rank " + b.c.shape.length + ")",
                    "a constant second operand must be a 2-D weight");
            int out = b.c.shape[1];
            // PyTorch exports nn.Linear on 3-D input as MatMul + Add(bias): fold the bias back in.
            NodeProto add = cv.soleConsumer(n.output(0), "Add");
            Val.Const bias = null;
            if (add != null && add.getInputCount() == 2) {
                String o = add.getInput(0).equals(n.output(0)) ? add.getInput(1) : add.getInput(0);
                Val other = cv.vals.get(o);
                if (other != null && other.isConst() && other.c.initializer != null && other.c.numel() == out
                        && other.c.shape.length > 0 && other.c.shape[other.c.shape.length - 1] == out) bias = other.c;
            }
            Val y = n.emit(new Linear(out, bias != null), List.of(a), new Converter.Weight("weight", b.c),
                    new Converter.Weight("bias", bias));
            n.put(0, y);
            if (bias != null) {
                cv.skip.add(add);
                new OnnxNode(cv, add).put(0, y);
            }
            return;
        }
        boolean transposeB = false;
        if (b.transposeOf != null) {
            b = b.transposeOf;
            transposeB = true;
        }
        if (a.rank() != b.rank())
            throw new Unsupported("MatMul (broadcast)", "operands of rank " + a.rank() + " and " + b.rank());
        n.put(0, n.emit(new MatMul(transposeB), List.of(a, b)));
    }
}
