package memplan.app.ui.timeline;

import memplan.train.Schedule;

import java.util.Comparator;
import java.util.List;

/** Helpers shared by the timeline adapters. */
final class Timelines {
    private Timelines() {
    }

    interface Lifetimes extends TimelineData.Lifetimes {
    }

    static int[] bySizeDescending(Schedule s, List<Integer> ids) {
        ids.sort(Comparator.comparingLong((Integer t) -> s.tensor(t).bytes()).reversed().thenComparing(t -> t));
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
