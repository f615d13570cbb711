/**
 * CPU reference kernels of MemPlan: the arithmetic of every op on one {@code float[]} arena.
 * <h2>Memory</h2>
 * Device memory is one {@code float[]}; a tensor is a {@link memplan.backend.cpu.Buf} at a float-slot offset
 * (byte offset / 4, see {@link memplan.backend.cpu.Buf#at}). Non-float dtypes are raw bits in the slots (INT32 one
 * slot, INT64 two slots low word first, BOOL four per slot, FP16/BF16 two per slot). The kernels compute on FP32
 * tensors only (the model's float type on this backend must be fp32); index inputs (Embedding, CrossEntropy
 * targets) may be INT64 or INT32.
 * <h2>Calling kernels</h2>
 * {@link memplan.backend.cpu.CpuKernels#of} gives the kernel of an op (wrapped in argument checks);
 * {@link memplan.backend.cpu.ForwardArgs} and {@link memplan.backend.cpu.BackwardArgs} carry Bufs in the node's
 * order of inputs, outputs, params and aux. In backward, only what the op's backwardNeeds() declares is read;
 * a null gradIn/gradParam means "not wanted"; accumulate flags choose add vs overwrite; a null gradOut is zero,
 * except for a loss, where it is 1. Reshape/Flatten are views and have no kernel (calling it throws).
 * <h2>Determinism</h2>
 * Work is split at boundaries that depend only on sizes, every output element is written by one task, and every
 * reduction runs in a fixed order, so results are bit-identical across runs and thread counts (kernels use the
 * ForkJoin pool they are called from). A recompute (ForwardArgs.recompute) reproduces outputs exactly and changes
 * no state; Dropout's mask is a hash of (seed, node index, element index).
 * <h2>Also here</h2>
 * {@link memplan.backend.cpu.Gemm} (blocked, transpose-aware SGEMM), {@link memplan.backend.cpu.CpuOptimizers}
 * (SGD momentum, Adam), {@link memplan.backend.cpu.Codecs} (1-bit mask, sparse, fp16, bf16 with sizes equal to
 * {@link memplan.backend.Codec#encodedBytes}) and {@link memplan.backend.cpu.MatmulBench}.
 */
package memplan.backend.cpu;
