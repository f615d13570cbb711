package memplan.onnx;

import memplan.onnx.OpMapper.Signature;
import memplan.onnx.proto.Onnx.AttributeProto;
import memplan.ops.Add;
import memplan.ops.Concat;
import memplan.ops.ConstElementwise;
import memplan.ops.Linear;
import memplan.ops.Mul;
import memplan.ops.Op;
import memplan.ops.ReLU;
import memplan.ops.Reshape;
import memplan.ops.Sigmoid;
import memplan.ops.Slice;
import memplan.ops.Split;
import memplan.ops.Sub;
import memplan.ops.Tanh;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The ONNX recurrent nodes LSTM, GRU and RNN, unrolled over their (fixed) sequence length, forward, reverse or both
 * directions, in either layout. A step is the Linear, Split, Add, Sigmoid, Tanh and Mul ops that PyTorch's CPU cell
 * functions record for autograd (so their saved tensors and temporaries are PyTorch's); an LSTM's input product is
 * one Linear over the whole sequence, as PyTorch's CPU layer makes it. The steps of a direction share one set of
 * weights. Initial states may be graph inputs or other activations (one batch-sized [D, N, H] tensor), zero
 * constants, or absent (zeros). sequence_lens is accepted and every step is computed, as PyTorch does for a padded
 * batch.
 */
final class RecurrentMapper implements OpMapper {
    private final Converter cv;

    RecurrentMapper(Converter cv) {
        this.cv = cv;
    }

    @Override
    public List<Signature> handles() {
        // Y (output 0) may be left out by name when only the last states are read
        return List.of(new Signature("LSTM", 3, 8, 0), new Signature("GRU", 3, 6, 0), new Signature("RNN", 3, 6, 0));
    }

    /** Gates per kind: LSTM 4, GRU 3, RNN 1. */
    private static int gates(String type) {
        return switch (type) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
    }

    /** The per-direction slice of a weight as a constant of its own, named so that every step ties to it. */
    private static Val.Const part(OnnxNode n, Val.Const whole, String what, int d, int... shape) {
        String base = whole.initializer != null ? whole.initializer : n.hint() + "/" + what;
        return new Val.Const(shape, null, null, true, base + "#" + what + d, false);
    }

    private Val emit(OnnxNode n, String suffix, Op op, List<Val> ins, Converter.Weight... w) {
        return cv.emit(n.hint() + suffix, op, ins, w).get(0);
    }

    @Override
    public void convert(OnnxNode n) {
        String type = n.type();
        Val x = n.act(0);
        if (x.rank() != 3) throw n.error("the input must be [L, N, I] (or [N, L, I] with layout 1), got rank "
                + x.rank());
        int layout = (int) n.attrInt("layout", 0);
        if (layout != 0 && layout != 1) throw n.error("layout must be 0 or 1, got " + layout);
        int tAxis = layout == 0 ? 0 : 1;
        String direction = n.attrString("direction", "forward");
        if (!List.of("forward", "reverse", "bidirectional").contains(direction))
            throw n.error("unknown direction '" + direction + "'");
        int dirs = direction.equals("bidirectional") ? 2 : 1;
        int h = n.attrSmallInt("hidden_size", -1);
        if (h < 1) throw n.error("attribute 'hidden_size' is missing or not positive");
        for (AttributeProto a : n.proto.getAttributeList())
            if (List.of("clip", "activation_alpha", "activation_beta").contains(a.getName()))
                throw new Unsupported(type + " (" + a.getName() + ")", null);
        boolean relu = activation(n, type);
        if (type.equals("LSTM") && n.attrInt("input_forget", 0) != 0)
            throw new Unsupported("LSTM (input_forget)", null);
        if (type.equals("LSTM") && n.has(7)) throw new Unsupported("LSTM (peepholes)", null);
        if (type.equals("GRU") && n.attrInt("linear_before_reset", 0) == 0)
            throw new Unsupported("GRU (linear_before_reset = 0)", "only PyTorch's form, linear_before_reset = 1, "
                    + "is supported");
        int g = gates(type), in = x.shape[0].dim(2);
        int steps = x.shape[0].dim(tAxis);
        if (steps != x.shape[1].dim(tAxis))
            throw n.error("the sequence length depends on the batch size; give the sequence length a fixed size");
        Val.Const w = n.cst(1, "W"), r = n.cst(2, "R"), b = n.optCst(3, "B");
        checkShape(n, w, "W", dirs, g * h, in);
        checkShape(n, r, "R", dirs, g * h, h);
        if (b != null) checkShape(n, b, "B", dirs, 2 * g * h);
        if (type.equals("LSTM") && b == null)
            throw new Unsupported("LSTM (no bias)", "an LSTM without the bias input B is not supported");

        // the time steps as [N, I] views of one split of the sequence
        List<Val> xt = steps(n, "", x, tAxis, steps, in);

        Val[][] hs = new Val[dirs][steps];
        Val[] lastH = new Val[dirs], lastC = new Val[dirs];
        for (int d = 0; d < dirs; d++) {
            boolean reverse = direction.equals("reverse") || d == 1;
            Val hState = initial(n, 5, "initial_h", d, dirs, layout, h, xt.get(0));
            Val cState = type.equals("LSTM") ? initial(n, 6, "initial_c", d, dirs, layout, h, xt.get(0)) : null;
            // PyTorch makes the zero h and c as two tensors; an export gives both from one ConstantOfShape. A copy
            // (x * 1: the same values whatever the state is) stands for the second one.
            if (cState != null && n.has(5) && n.proto.getInput(5).equals(n.proto.getInput(6)))
                cState = emit(n, "/initial_c" + d + "/copy", ConstElementwise.scalar("mul", 1, false),
                        List.of(hState));
            Converter.Weight wIh = new Converter.Weight("weight", part(n, w, "W", d, g * h, in));
            Converter.Weight wHh = new Converter.Weight("weight", part(n, r, "R", d, g * h, h));
            Converter.Weight bIh = new Converter.Weight("bias", b == null ? null : part(n, b, "Bi", d, g * h));
            Converter.Weight bHh = new Converter.Weight("bias", b == null ? null : part(n, b, "Bh", d, g * h));
            // LSTM: PyTorch's CPU layer multiplies the whole sequence by W at once, then steps through its views.
            // The first step's R h comes before W's bias so that the parameters are in PyTorch's order (W, R, then
            // the biases): single-tensor Adam's temporaries depend on which parameter precedes which.
            List<Val> gx = null;
            Val ghFirst = null;
            if (type.equals("LSTM")) {
                Val wx = emit(n, "/d" + d + "/ih", new Linear(g * h, false), List.of(x), wIh);
                ghFirst = emit(n, "/d" + d + "t" + (reverse ? steps - 1 : 0) + "/hh", new Linear(g * h, true),
                        List.of(hState), wHh, bHh);
                Val wxb = emit(n, "/d" + d + "/ih_bias", new ConstElementwise("add", List.of(g * h), 0, false, true),
                        List.of(wx), new Converter.Weight("const", bIh.tensor()));
                gx = steps(n, "/d" + d + "/ih", wxb, tAxis, steps, g * h);
            }
            for (int k = 0; k < steps; k++) {
                int t = reverse ? steps - 1 - k : k;
                String at = "/d" + d + "t" + t;
                if (type.equals("LSTM")) {
                    Val gh = k == 0 ? ghFirst : emit(n, at + "/hh", new Linear(g * h, true), List.of(hState), wHh,
                            bHh);
                    Val[] hc = lstmStep(n, at, emit(n, at + "/gates", new Add(), List.of(gh, gx.get(t))), cState,
                            h);
                    hState = hc[0];
                    cState = hc[1];
                } else {
                    Val gi = emit(n, at + "/ih", new Linear(g * h, b != null), List.of(xt.get(t)), wIh, bIh);
                    Val gh = emit(n, at + "/hh", new Linear(g * h, b != null), List.of(hState), wHh, bHh);
                    hState = type.equals("GRU") ? gruStep(n, at, gi, gh, hState, h)
                            : emit(n, at, relu ? new ReLU() : new Tanh(),
                            List.of(emit(n, at + "/add", new Add(), List.of(gi, gh))));
                }
                hs[d][t] = hState;
            }
            lastH[d] = hState;
            lastC[d] = cState;
        }
        if (n.outputUsed(0)) n.put(0, sequenceOutput(n, hs, layout, h));
        if (n.outputUsed(1)) n.put(1, stateOutput(n, "/Y_h", lastH, layout, h));
        if (type.equals("LSTM") && n.outputUsed(2)) n.put(2, stateOutput(n, "/Y_c", lastC, layout, h));
    }

    /** Whether the activations are ReLU (RNN only); the defaults otherwise, else unsupported. */
    private static boolean activation(OnnxNode n, String type) {
        for (AttributeProto a : n.proto.getAttributeList()) {
            if (!a.getName().equals("activations")) continue;
            List<String> acts = new ArrayList<>();
            for (var s : a.getStringsList()) acts.add(s.toStringUtf8().toLowerCase());
            List<String> dflt = switch (type) {
                case "LSTM" -> List.of("sigmoid", "tanh", "tanh");
                case "GRU" -> List.of("sigmoid", "tanh");
                default -> List.of("tanh");
            };
            boolean ok = true, relu = false;
            for (int i = 0; i < acts.size(); i++) {
                String want = dflt.get(i % dflt.size());
                if (type.equals("RNN") && acts.get(i).equals("relu")) relu = true;
                else ok &= acts.get(i).equals(want);
            }
            if (!ok) throw new Unsupported(type + " (activations " + acts + ")", null);
            return relu;
        }
        return false;
    }

    private static void checkShape(OnnxNode n, Val.Const c, String what, int... want) {
        boolean ok = c.shape.length == want.length;
        for (int i = 0; ok && i < want.length; i++) ok = c.shape[i] == want[i];
        if (!ok) throw n.error("the input " + what + " must have shape " + Arrays.toString(want)
                + ", got " + Arrays.toString(c.shape));
    }

    /**
     * Direction d's initial state [N, H]: a slice of a [D, N, H] activation (layout 1: [N, D, H]), or zeros when
     * the input is absent or a zero constant (from step 0's input, so that it follows the batch).
     */
    private Val initial(OnnxNode n, int k, String what, int d, int dirs, int layout, int h, Val x0) {
        Val s = n.in(k);
        if (s != null && s.isAct()) {
            if (s.rank() != 3 || s.shape[0].dim(2) != h || s.shape[0].dim(layout == 0 ? 0 : 1) != dirs)
                throw n.error("the " + what + " must be [" + (layout == 0 ? "D, N, H" : "N, D, H") + "] with D = "
                        + dirs + " and H = " + h + ", got " + s.shape[0]);
            Val one = dirs == 1 ? s : emit(n, "/" + what + d, new Slice(layout == 0 ? 0 : 1, d, d + 1), List.of(s));
            return emit(n, "/" + what + d + "/view", new Reshape(List.of(-1, h)), List.of(one));
        }
        if (s != null && s.isConst()) {
            Arr a = s.c.lane(0);
            boolean zero = a != null;
            if (a != null) for (double v : a.v()) zero &= v == 0;
            if (!zero) throw new Unsupported(n.type() + " (non-zero constant " + what + ")", "give the initial "
                    + "state as a graph input");
        }
        // zeros [N, H]: x0[:, :1] * 0 + a zero buffer [H] (no parameters; the batch follows the input)
        Val col = emit(n, "/" + what + d + "/col", new Slice(1, 0, 1), List.of(x0));
        Val zero = emit(n, "/" + what + d + "/zero", ConstElementwise.scalar("mul", 0, false), List.of(col));
        return emit(n, "/" + what + d, new ConstElementwise("add", List.of(h), 0, false, false), List.of(zero));
    }

    /** The time steps of a sequence [L, N, W] (layout 1: [N, L, W]) as [N, W] views of one split. */
    private List<Val> steps(OnnxNode n, String prefix, Val seq, int tAxis, int steps, int width) {
        List<Integer> ones = Collections.nCopies(steps, 1);
        List<Val> parts = steps == 1 ? List.of(seq)
                : cv.emit(n.hint() + prefix + "/steps", new Split(tAxis, ones), List.of(seq));
        List<Val> out = new ArrayList<>();
        for (int t = 0; t < steps; t++)
            out.add(emit(n, prefix + "/x" + t, new Reshape(List.of(-1, width)), List.of(parts.get(t))));
        return out;
    }

    /**
     * One LSTM step after its gates' pre-activations [N, 4H] (ONNX's order i, o, f, c), as PyTorch's CPU cell records
     * it (aten/src/ATen/native/RNN.cpp, LSTMCell): i, o, f = sigmoid, g = tanh of the four chunks, c' = f c + i g,
     * h' = o tanh(c'). So the step keeps PyTorch's saved tensors: h (for R's gradient), c, the four activated gates and
     * tanh(c'), not c'. Returns {h', c'}.
     */
    private Val[] lstmStep(OnnxNode n, String at, Val gates, Val cPrev, int h) {
        List<Val> q = cv.emit(n.hint() + at + "/chunks", new Split(1, List.of(h, h, h, h)), List.of(gates));
        Val i = emit(n, at + "/i", new Sigmoid(), List.of(q.get(0)));
        Val o = emit(n, at + "/o", new Sigmoid(), List.of(q.get(1)));
        Val f = emit(n, at + "/f", new Sigmoid(), List.of(q.get(2)));
        Val g = emit(n, at + "/g", new Tanh(), List.of(q.get(3)));
        Val c = emit(n, at + "/c", new Add(), List.of(emit(n, at + "/fc", new Mul(), List.of(f, cPrev)),
                emit(n, at + "/ig", new Mul(), List.of(i, g))));
        Val hNext = emit(n, at, new Mul(), List.of(o, emit(n, at + "/tanh_c", new Tanh(), List.of(c))));
        return new Val[]{hNext, c};
    }

    /**
     * One GRU step as PyTorch's GRUCell records it, with gi = W x + Wb, gh = R h + Rb split into (z, r, n) thirds
     * (ONNX's gate order): z = sigmoid(gi_z + gh_z), r = sigmoid(gi_r + gh_r), n = tanh(gi_n + r gh_n),
     * h' = (h - n) z + n.
     */
    private Val gruStep(OnnxNode n, String at, Val gi, Val gh, Val hPrev, int h) {
        List<Integer> thirds = List.of(h, h, h);
        List<Val> i3 = cv.emit(n.hint() + at + "/ih_split", new Split(1, thirds), List.of(gi));
        List<Val> h3 = cv.emit(n.hint() + at + "/hh_split", new Split(1, thirds), List.of(gh));
        Val z = emit(n, at + "/z", new Sigmoid(), List.of(emit(n, at + "/z_in", new Add(), List.of(i3.get(0),
                h3.get(0)))));
        Val rg = emit(n, at + "/r", new Sigmoid(), List.of(emit(n, at + "/r_in", new Add(), List.of(i3.get(1),
                h3.get(1)))));
        Val rh = emit(n, at + "/r_hn", new Mul(), List.of(rg, h3.get(2)));
        Val nn = emit(n, at + "/n", new Tanh(), List.of(emit(n, at + "/n_in", new Add(), List.of(i3.get(2), rh))));
        Val diff = emit(n, at + "/h_minus_n", new Sub(), List.of(hPrev, nn));
        return emit(n, at, new Add(), List.of(emit(n, at + "/zd", new Mul(), List.of(diff, z)), nn));
    }

    /** Y: [L, D, N, H] (layout 1: [N, L, D, H]) from the steps' [N, H] outputs, by views and concatenations. */
    private Val sequenceOutput(OnnxNode n, Val[][] hs, int layout, int h) {
        int dirs = hs.length, steps = hs[0].length;
        List<Integer> unit = layout == 0 ? List.of(1, 1, -1, h) : List.of(-1, 1, 1, h);
        List<Val> perStep = new ArrayList<>();
        for (int t = 0; t < steps; t++) {
            List<Val> ds = new ArrayList<>();
            for (int d = 0; d < dirs; d++)
                ds.add(emit(n, "/Y/d" + d + "t" + t, new Reshape(unit), List.of(hs[d][t])));
            perStep.add(ds.size() == 1 ? ds.get(0) : emit(n, "/Y/t" + t, new Concat(layout == 0 ? 1 : 2), ds));
        }
        return perStep.size() == 1 ? perStep.get(0) : emit(n, "/Y", new Concat(layout == 0 ? 0 : 1), perStep);
    }

    /** Y_h or Y_c: [D, N, H] (layout 1: [N, D, H]) from each direction's last state. */
    private Val stateOutput(OnnxNode n, String name, Val[] last, int layout, int h) {
        List<Val> ds = new ArrayList<>();
        List<Integer> unit = layout == 0 ? List.of(1, -1, h) : List.of(-1, 1, h);
        for (int d = 0; d < last.length; d++) ds.add(emit(n, name + "/d" + d, new Reshape(unit), List.of(last[d])));
        return ds.size() == 1 ? ds.get(0) : emit(n, name, new Concat(layout == 0 ? 0 : 1), ds);
    }
}
