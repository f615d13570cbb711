package memplan.cuda;

import memplan.model.Layer;
import memplan.ops.Op;
import memplan.ops.OpRulesTest;
import memplan.ops.OpType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every op of the closed set runs on the CUDA kernels: OpCheck (the GPU proof) has a case for every op type that
 * runs a kernel, and one op of every type (the engine's OpRulesTest examples) matches the CPU kernels forward and
 * backward on the emulated kernels.
 */
class CudaOpCoverageTest {
    /** Input has no kernel (the executor writes data inputs); Reshape and Flatten are views of their input. */
    private static final Set<String> NO_KERNEL = Set.of("Input", "Reshape", "Flatten");
    private static String unavailable;

    @BeforeAll
    static void build() throws Exception {
        unavailable = EmuBackend.load(Path.of("").toAbsolutePath());
    }

    private static Op op(OpCheck.Case c) {
        for (Layer l : c.model().layers()) if (l.name().equals("op")) return l.op();
        throw new AssertionError(c.name() + " has no layer named op");
    }

    @Test
    void opCheckHasACaseForEveryOpTypeWithAKernel() {
        Set<String> covered = new TreeSet<>(NO_KERNEL);
        for (OpCheck.Case c : OpCheck.cases()) covered.add(op(c).type());
        assertEquals(new TreeSet<>(OpType.names()), covered);
    }

    @Test
    void oneOpOfEveryTypeMatchesTheCpuKernelsOnTheEmulatedKernels() throws Exception {
        assumeTrue(Boolean.parseBoolean(System.getProperty("memplan.emu", "true")), "memplan.emu=false");
        assumeTrue(unavailable == null, () -> unavailable);
        Map<Op, List<memplan.ir.Shape>> examples = OpRulesTest.examples();
        Set<String> types = new TreeSet<>(Set.of("Input"));
        List<OpCheck.Case> cases = new ArrayList<>();
        for (var e : examples.entrySet()) {
            Op op = e.getKey();
            types.add(op.type());
            if (op.isView()) continue;
            Object[] shapes = new Object[e.getValue().size()];
            for (int i = 0; i < shapes.length; i++) shapes[i] = e.getValue().get(i).dims();
            cases.add(OpCheck.one(op.type() + " (engine example)", op, 2e-4, shapes));
        }
        assertEquals(new TreeSet<>(OpType.names()), types, "the engine's examples cover every op type");
        assertTrue(cases.size() >= OpType.values().length - NO_KERNEL.size());
        try (EmuBackend b = new EmuBackend()) {
            assertEquals(0, OpCheck.run(b, cases, false, false, null, System.out, false));
        }
    }
}
