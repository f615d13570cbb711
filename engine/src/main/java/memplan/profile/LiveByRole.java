package memplan.profile;

import memplan.ir.TensorRole;

import java.util.EnumMap;
import java.util.Map;

/**
 * Live bytes per step, in total and per role, summed from per-role difference arrays (+bytes at a tensor's first
 * step, -bytes after its last), with the step of the peak (the first one) and each role's bytes there.
 */
public record LiveByRole(long[] total, long[][] perRole, int peakStep, long peakBytes,
                         Map<TensorRole, Long> peakByRole) {

    /** {@code diff[role][step]} for {@code steps} steps (a row may be longer: the entry after the last step). */
    public static LiveByRole sum(long[][] diff, int steps) {
        long[] total = new long[steps];
        long[][] perRole = new long[diff.length][steps];
        for (int r = 0; r < diff.length; r++) {
            long acc = 0;
            for (int i = 0; i < steps; i++) {
                acc += diff[r][i];
                perRole[r][i] = acc;
                total[i] += acc;
            }
        }
        int peak = 0;
        for (int i = 1; i < steps; i++) if (total[i] > total[peak]) peak = i;
        Map<TensorRole, Long> atPeak = new EnumMap<>(TensorRole.class);
        for (TensorRole r : TensorRole.values()) atPeak.put(r, steps == 0 ? 0 : perRole[r.ordinal()][peak]);
        return new LiveByRole(total, perRole, peak, steps == 0 ? 0 : total[peak], atPeak);
    }
}
