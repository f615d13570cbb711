package memplan.lower;

import memplan.backend.Backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Static placement of buffers in one arena, greedy by size: the largest buffer first, each at the lowest aligned
 * offset that no buffer live at an overlapping time occupies. Reports the arena size, which is at least the peak of
 * live bytes; the difference is fragmentation and alignment padding.
 */
public final class Allocator {
    private Allocator() {
    }

    /** Result: buffers with offsets (by id), the arena size and the peak of live bytes it serves. */
    public record Placement(List<Buffer> buffers, long arenaBytes, long peakLiveBytes) {
        /** Share of the arena not needed at the peak: 0 = no fragmentation. */
        public double fragmentation() {
            return arenaBytes == 0 ? 0 : 1.0 - (double) peakLiveBytes / arenaBytes;
        }
    }

    public static Placement place(ExecutionSchedule es) {
        List<Buffer> order = new ArrayList<>(es.buffers());
        order.sort(Comparator.comparingLong(Buffer::bytes).reversed().thenComparingInt(Buffer::start)
                .thenComparingInt(Buffer::id));
        long[] offset = new long[es.buffers().size()];
        List<Buffer> placed = new ArrayList<>();
        long arena = 0;
        for (Buffer b : order) {
            long size = aligned(b.bytes());
            List<long[]> busy = new ArrayList<>();
            for (Buffer p : placed) if (overlapInTime(p, b))
                busy.add(new long[]{offset[p.id()], offset[p.id()] + aligned(p.bytes())});
            busy.sort(Comparator.comparingLong(x -> x[0]));
            long at = 0;
            for (long[] r : busy) {
                if (r[0] - at >= size) break;
                at = Math.max(at, r[1]);
            }
            offset[b.id()] = at;
            arena = Math.max(arena, at + size);
            placed.add(b);
        }
        List<Buffer> out = new ArrayList<>(es.buffers().size());
        for (Buffer b : es.buffers()) out.add(b.withOffset(offset[b.id()]));
        return new Placement(out, arena, es.peakBytes());
    }

    static long aligned(long bytes) {
        long a = Backend.ALIGNMENT;
        return Math.max(a, (bytes + a - 1) / a * a);
    }

    static boolean overlapInTime(Buffer x, Buffer y) {
        int i = 0, j = 0;
        while (i < x.segStart().length && j < y.segStart().length) {
            if (x.segEnd()[i] < y.segStart()[j]) i++;
            else if (y.segEnd()[j] < x.segStart()[i]) j++;
            else return true;
        }
        return false;
    }
}
