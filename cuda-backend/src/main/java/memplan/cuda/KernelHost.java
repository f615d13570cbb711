package memplan.cuda;

import java.util.function.Predicate;

/**
 * What {@link CudaOps} needs from a device: pointers into the arena, kernel launches on the compute stream, and
 * memset. {@link CudaBackend} implements it with JCuda; the tests implement it with the same CUDA C kernels compiled
 * for the host (an emulator), so the kernels and their launches are checked without a GPU.
 */
abstract class KernelHost {
    /** A device pointer at a byte offset of the arena; a negative offset is the null pointer (absent tensor). */
    abstract Object dev(long offset);

    /** The pointer kernels use for error flags (SPARSE overflow), outside the arena. */
    abstract Object statusPtr();

    /** Launches a kernel; args follow its signature: a {@link #dev} pointer for p, Long, Integer, Float, Double. */
    abstract void launch(Kernels.Spec k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
            Object... args);

    /** Sets bytes at an arena offset to a value, in stream order. */
    abstract void memsetBytes(long offset, byte value, long bytes);

    final void memsetZero(long offset, long bytes) {
        memsetBytes(offset, (byte) 0, bytes);
    }

    /** Grid-stride launch over n elements, 256 threads per block. */
    final void elementwise(Kernels.Spec k, long n, Object... args) {
        if (n <= 0) return;
        int blocks = (int) Math.min((n + 255) / 256, 1L << 20);
        launch(k, blocks, 1, 1, 256, 1, 1, 0, args);
    }

    /** Checks launch arguments against a kernel's signature; isPointer says what counts as a pointer. */
    static void checkArgs(Kernels.Spec k, Object[] args, Predicate<Object> isPointer) {
        String sig = k.signature();
        if (args.length != sig.length())
            throw new IllegalArgumentException(k + " takes " + sig.length() + " arguments, got " + args.length);
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            char c = sig.charAt(i);
            boolean fits = switch (c) {
                case 'p' -> isPointer.test(a);
                case 'l' -> a instanceof Long;
                case 'i' -> a instanceof Integer;
                case 'f' -> a instanceof Float;
                case 'd' -> a instanceof Double;
                default -> false;
            };
            if (!fits) throw new IllegalArgumentException(k + " argument " + i + " must be '" + c + "', got " + a);
        }
    }
}
