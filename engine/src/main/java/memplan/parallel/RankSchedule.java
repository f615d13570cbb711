package memplan.parallel;

import memplan.train.Schedule;

/**
 * One distinct rank of a parallel layout: its memory without a plan, and its share of the micro-batch's schedule as a
 * planner plans it (the same tensor ids and steps, the rank's sizes and costs, and what else the rank holds per step).
 */
public record RankSchedule(RankMemory memory, Schedule schedule) {

    /** The global rank of the rank's first tensor-parallel device. */
    public int globalRank(Layout l) {
        return memory.globalRank(l);
    }
}
