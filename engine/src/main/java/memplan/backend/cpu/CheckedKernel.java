package memplan.backend.cpu;

import memplan.graph.Node;
import memplan.ir.AuxSpec;
import memplan.ir.DType;
import memplan.ir.ParamSpec;
import memplan.ir.Shape;
import memplan.ops.Op;

import java.util.List;

/**
 * Wraps a kernel with checks of what the executor passes: array lengths, element counts (a Buf may carry another
 * shape of the same size, e.g. a view's) and dtypes (fp32 for float tensors, int64/int32 for index inputs, the
 * declared dtype for aux). A mismatch throws IllegalArgumentException naming the node and the tensor.
 */
final class CheckedKernel implements CpuKernel {
    private final CpuKernel inner;

    CheckedKernel(CpuKernel inner) {
        this.inner = inner;
    }

    CpuKernel inner() {
        return inner;
    }

    @Override
    public void forward(ForwardArgs a) {
        if (a == null || a.node() == null) throw new IllegalArgumentException("forward: no node given");
        Node n = a.node();
        Op op = n.op();
        List<ParamSpec> ps = op.params(n.inShapes());
        List<AuxSpec> as = op.aux(n.inShapes(), n.outShapes());
        tensors(n, "input", a.in(), n.inShapes().size(), true, i -> n.inShapes().get(i), i -> inputType(op, i));
        tensors(n, "output", a.out(), n.outShapes().size(), true, i -> n.outShapes().get(i), i -> outputType(op, i));
        tensors(n, "param", a.params(), ps.size(), true, i -> ps.get(i).shape(), i -> DType.FP32);
        if (a.aux() != null)
            tensors(n, "aux", a.aux(), as.size(), false, i -> as.get(i).shape(), i -> as.get(i).dtype() == null
                    ? DType.FP32 : as.get(i).dtype());
        inner.forward(a);
    }

    @Override
    public void backward(BackwardArgs a) {
        if (a == null || a.node() == null) throw new IllegalArgumentException("backward: no node given");
        Node n = a.node();
        Op op = n.op();
        List<ParamSpec> ps = op.params(n.inShapes());
        List<AuxSpec> as = op.aux(n.inShapes(), n.outShapes());
        int ni = n.inShapes().size(), no = n.outShapes().size();
        if (a.in() != null) tensors(n, "input", a.in(), ni, false, i -> n.inShapes().get(i), i -> inputType(op, i));
        if (a.out() != null) tensors(n, "output", a.out(), no, false,
                i -> n.outShapes().get(i), i -> outputType(op, i));
        if (a.params() != null) tensors(n, "param", a.params(), ps.size(), false,
                i -> ps.get(i).shape(), i -> DType.FP32);
        if (a.aux() != null)
            tensors(n, "aux", a.aux(), as.size(), false, i -> as.get(i).shape(), i -> as.get(i).dtype() == null
                    ? DType.FP32 : as.get(i).dtype());
        if (a.gradOut() != null) tensors(n, "gradOut", a.gradOut(), no, false,
                i -> n.outShapes().get(i), i -> DType.FP32);
        if (a.gradIn() != null) {
            // a gradient buffer bound to an input that takes none (indices, targets) is ignored by the kernels
            Buf[] gi = a.gradIn().clone();
            for (int i = 0; i < gi.length && i < ni; i++) if (!op.differentiable(i)
                    && !op.type().equals("MseLoss")) gi[i] = null;
            tensors(n, "gradIn", gi, ni, false, i -> n.inShapes().get(i), i -> DType.FP32);
        }
        if (a.gradParams() != null) tensors(n, "gradParam", a.gradParams(), ps.size(), false,
                i -> ps.get(i).shape(), i -> DType.FP32);
        inner.backward(a);
    }

    /**
     * The dtype a kernel takes for input i; null = any dtype the CPU backend stores (fp32, int64, int32, bool):
     * Cast's and Compare's inputs, and MaskedFill's mask input.
     */
    static DType inputType(Op op, int i) {
        if (op.type().equals("Cast") || op.type().equals("Compare") || op.type().equals("MaskedFill") && i == 1)
            return null;
        return op.differentiable(i) || op.type().equals("MseLoss") ? DType.FP32 : DType.INT64;
    }

    /** fp32, or the integer/bool dtype an op declares for an output (Cast to int64, say). */
    static DType outputType(Op op, int i) {
        DType d = op.outputDType(i);
        return d != null && !d.floating ? d : DType.FP32;
    }

    private interface ShapeOf {
        Shape at(int i);
    }

    private interface TypeOf {
        DType at(int i);
    }

    private static String where(Node n) {
        return n.op().type() + " '" + n.name() + "'";
    }

    private static void tensors(Node n, String role, Buf[] bufs, int count, boolean required,
            ShapeOf shape, TypeOf type) {
        if (bufs == null) {
            if (required && count > 0) throw new IllegalArgumentException(where(n) + ": no " + role
                    + " tensors given, expected " + count);
            return;
        }
        if (bufs.length != count)
            throw new IllegalArgumentException(where(n) + ": " + bufs.length + " " + role
                    + " tensors given, expected " + count);
        for (int i = 0; i < count; i++) {
            Buf b = bufs[i];
            if (b == null) {
                if (required) throw new IllegalArgumentException(where(n) + ": " + role + " " + i + " is missing");
                continue;
            }
            Shape s = shape.at(i);
            if (b.shape().numel() != s.numel())
                throw new IllegalArgumentException(where(n) + ": " + role + " " + i + " is " + b.shape()
                        + " but the node needs " + s);
            DType want = type.at(i);
            boolean ok = want == null ? !(b.dtype() == DType.FP16 || b.dtype() == DType.BF16)
                    : b.dtype() == want || (want == DType.INT64 && b.dtype() == DType.INT32);
            if (!ok)
                throw new IllegalArgumentException(where(n) + ": " + role + " " + i + " is " + b.dtype()
                        + " but the CPU kernel needs "
                        + (want == null ? "fp32, int64, int32 or bool" : want) + (want == null || want == DType.FP32
                                ? " (the CPU backend computes in fp32)" : ""));
        }
    }
}
