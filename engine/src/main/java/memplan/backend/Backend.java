package memplan.backend;

import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.train.Optimizer;

/**
 * A device that runs training steps on tensors placed in one arena at planned byte offsets. Kernels run in order
 * on a compute stream; swaps run on a separate copy stream and are ordered with events, so a prefetch can overlap
 * compute. All offsets are byte offsets into the arena, aligned to {@link #ALIGNMENT}.
 * <p>
 * The executor owns the plan; a backend only does what it is told, and never frees or moves tensors itself.
 */
public interface Backend extends AutoCloseable {
    /** Alignment of every tensor's offset in the arena. */
    int ALIGNMENT = 256;

    String name();

    /** e.g. "CPU reference, 2 threads" or "NVIDIA H100 80GB HBM3, driver 580.65". */
    String deviceDescription();

    /** Most bytes an arena may have. */
    long capacityBytes();

    /** Allocates (or reallocates) the arena; throws {@link DeviceOutOfMemoryException} when it cannot. */
    void allocateArena(long bytes);

    long arenaBytes();

    /** Host memory for swapped-out tensors (pinned on a GPU). */
    HostBuffer allocateHost(long bytes);

    /** Synchronous upload of raw 4-byte words (floats, or int bits) into the arena, for data and initial weights. */
    void write(long offset, float[] src, int from, int count);

    /** Synchronous download of raw 4-byte words from the arena (waits for queued work first). */
    void read(long offset, float[] dst, int from, int count);

    /** Sets {@code bytes} bytes at offset to zero (on the compute stream). */
    void zero(long offset, long bytes);

    /** Runs a node's forward kernel; recompute=true must give identical outputs and change no state. */
    void forward(Graph graph, Node node, Bindings b, boolean training, boolean recompute, long seed);

    void backward(Graph graph, Node node, Bindings b);

    /** One optimizer update of one parameter of numel elements, at step t (1-based, for Adam's bias correction). */
    void optimizerStep(Optimizer optimizer, double learningRate, long param, long grad,
            long[] states, long numel, int t);

    /** Encodes numel fp32 elements at src into dst with a codec (compute stream). */
    void encode(Codec codec, long src, long dst, long numel, double density, String tensorName);

    /** Decodes back into numel fp32 elements at dst. */
    void decode(Codec codec, long src, long dst, long numel, double density);

    /** Queues a device-to-host copy on the copy stream, after the compute issued so far; returns its completion. */
    Event copyToHost(long deviceOffset, HostBuffer host, long hostOffset, long bytes);

    /** Queues a host-to-device copy on the copy stream; returns its completion. */
    Event copyToDevice(HostBuffer host, long hostOffset, long deviceOffset, long bytes);

    /** Makes later compute wait for an event (a prefetch must land before its reader runs). */
    void computeWaits(Event event);

    /** Waits on the host until an event has completed. */
    void hostWaits(Event event);

    /** Waits until all queued work on both streams is done. */
    void synchronize();

    /** Nanoseconds the compute stream spent on the work queued since the last call (CUDA events / wall clock). */
    long drainComputeNanos();

    /**
     * Device memory in use as the device reports it (cuMemGetInfo), or the arena size where there is no such report.
     */
    long deviceMemoryUsed();

    @Override
    void close();

    /** Completion of queued work. */
    interface Event {
        boolean isDone();
    }

    /** Host memory that swapped tensors go to. */
    interface HostBuffer {
        long bytes();
    }
}
