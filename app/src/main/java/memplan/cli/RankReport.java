package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.parallel.CommBuffer;
import memplan.parallel.IterationTime;
import memplan.parallel.Layout;
import memplan.parallel.Network;
import memplan.parallel.ParallelProfile;
import memplan.parallel.RankMemory;
import memplan.parallel.RankPlans;
import memplan.train.Phase;
import memplan.units.ByteSize;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.stream.Collectors;

/** Prints the per-rank memory of a parallel layout, as text or JSON. */
final class RankReport {
    private RankReport() {
    }

    static String layoutLine(Layout l, int globalBatch) {
        int micro = l.microBatchSize(globalBatch);
        return String.format(Locale.ROOT, "%s  (%d device%s; batch %d = %d rank%s x %d micro-batch%s of %d)",
                l.describe(), l.worldSize(), l.worldSize() == 1 ? "" : "s", globalBatch, l.dp(), l.dp() == 1 ? "" : "s",
                l.microBatches(), l.microBatches() == 1 ? "" : "es", micro);
    }

    static void print(PrintWriter o, ParallelProfile p, int globalBatch, long capacity) {
        Layout l = p.layout();
        o.println("layout          " + layoutLine(l, globalBatch));
        o.printf(Locale.ROOT, "%-6s %-6s %-12s %-13s %s%n", "rank", "stage", "peak", "model states", "buffers");
        for (RankMemory r : p.ranks()) {
            String bufs = r.buffers().stream().map(RankReport::buffer).collect(Collectors.joining("; "));
            if (r.offloadedBytes() > 0) bufs += (bufs.isEmpty() ? "" : "; ") + "host " + ByteSize.format(
                    r.offloadedBytes());
            o.printf(Locale.ROOT, "%-6d %-6d %-12s %-13s %s%n", r.globalRank(l), r.stage(),
                    ByteSize.format(r.peakBytes()), ByteSize.format(r.modelStateBytes()), bufs.isEmpty() ? "-" : bufs);
        }
        RankMemory h = p.highest();
        o.printf(Locale.ROOT, "highest rank    %d: peak %s%s%n", h.globalRank(l), ByteSize.format(h.peakBytes()),
                capacity > 0 ? String.format(Locale.ROOT, " (%.0f%% of %s)", 100.0 * h.peakBytes() / capacity,
                        ByteSize.format(capacity)) : "");
        if (p.ranks().size() < l.worldSize())
            o.println("                (ranks not listed hold what the listed rank of their stage holds)");
    }

    /** The per-rank table of per-rank plans: each rank's peak without and with its plan, and the highest. */
    static void printPlans(PrintWriter o, RankPlans p, int globalBatch, long capacity, long budget) {
        Layout l = p.layout();
        o.println("layout          " + layoutLine(l, globalBatch));
        o.printf(Locale.ROOT, "%-6s %-6s %-12s %-12s %-13s %-22s %s%n", "rank", "stage", "unplanned", "planned",
                "model states", "plan", "buffers");
        for (int i = 0; i < p.ranks().size(); i++) {
            RankPlans.RankPlan r = p.ranks().get(i);
            RankMemory m = r.before();
            String bufs = m.buffers().stream().map(RankReport::buffer).collect(Collectors.joining("; "));
            if (m.offloadedBytes() > 0) bufs += (bufs.isEmpty() ? "" : "; ") + "host " + ByteSize.format(
                    m.offloadedBytes());
            String plan = r.sharesPlanOf() == i ? decisions(r) : "as rank " + p.ranks().get(r.sharesPlanOf())
                    .globalRank(l);
            o.printf(Locale.ROOT, "%-6d %-6d %-12s %-12s %-13s %-22s %s%n", r.globalRank(l), m.stage(),
                    ByteSize.format(m.peakBytes()), ByteSize.format(r.peakBytes()),
                    ByteSize.format(m.modelStateBytes()), plan, bufs.isEmpty() ? "-" : bufs);
        }
        RankPlans.RankPlan h = p.highest();
        o.printf(Locale.ROOT, "highest rank    %d: planned peak %s%s%s, unplanned %s%n", h.globalRank(l),
                ByteSize.format(h.peakBytes()), budget > 0 ? String.format(Locale.ROOT, " (budget %s)",
                        ByteSize.format(budget)) : "",
                capacity > 0 ? String.format(Locale.ROOT, ", %.0f%% of %s", 100.0 * h.peakBytes() / capacity,
                        ByteSize.format(capacity)) : "", ByteSize.format(h.before().peakBytes()));
        if (p.ranks().size() < l.worldSize())
            o.println("                (ranks not listed hold and plan what the listed rank of their stage does)");
    }

    private static String decisions(RankPlans.RankPlan r) {
        var counts = SimulateCommand.decisionCounts(r.plan());
        if (counts.isEmpty()) return "all kept";
        return counts.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", "));
    }

    static ObjectNode plansJson(RankPlans p, int globalBatch) {
        Layout l = p.layout();
        ObjectNode n = json(new ParallelProfile(l, p.ranks().stream().map(RankPlans.RankPlan::before).toList()),
                globalBatch);
        RankPlans.RankPlan h = p.highest();
        n.put("highestPlannedRank", h.globalRank(l));
        n.put("highestPlannedPeakBytes", h.peakBytes());
        n.put("distinctPlans", p.distinctPlans());
        ArrayNode ranks = (ArrayNode) n.get("ranks");
        for (int i = 0; i < p.ranks().size(); i++) {
            RankPlans.RankPlan r = p.ranks().get(i);
            ObjectNode x = (ObjectNode) ranks.get(i);
            x.put("plannedPeakBytes", r.peakBytes());
            x.put("plannedIterationSeconds", r.after().iterationSeconds());
            x.put("planOfRank", p.ranks().get(r.sharesPlanOf()).globalRank(l));
            ObjectNode k = x.putObject("decisions");
            SimulateCommand.decisionCounts(r.plan()).forEach(k::put);
            ObjectNode ph = x.putObject("plannedPhasePeakBytes");
            long[] peaks = r.after().phasePeaks();
            for (Phase phase : Phase.values()) ph.put(phase.name().toLowerCase(Locale.ROOT), peaks[phase.ordinal()]);
        }
        return n;
    }


    static void printTime(PrintWriter o, IterationTime t, Network[] nets) {
        o.printf(Locale.ROOT, "time            %.4g ms per iteration: compute %.4g ms, pipeline bubble %.4g ms, "
                        + "exposed collectives %.4g ms (data parallel %s in %.4g ms, tensor parallel %s in %.4g ms, "
                        + "pipeline %s in %.4g ms; %s within a node, %s between)%n", t.iterationSeconds() * 1e3,
                t.computeSeconds() * 1e3, t.bubbleSeconds() * 1e3, t.exposedSeconds() * 1e3,
                ByteSize.format(t.dataParallelBytes()), t.dataParallelSeconds() * 1e3,
                ByteSize.format(t.tensorParallelBytes()), t.tensorParallelSeconds() * 1e3,
                ByteSize.format(t.pipelineBytes()), t.pipelineSeconds() * 1e3, nets[0].name(), nets[1].name());
    }

    static ObjectNode timeJson(IterationTime t) {
        ObjectNode n = Json.object();
        n.put("iterationSeconds", t.iterationSeconds());
        n.put("computeSeconds", t.computeSeconds());
        n.put("bubbleSeconds", t.bubbleSeconds());
        n.put("exposedCollectiveSeconds", t.exposedSeconds());
        n.put("dataParallelBytes", t.dataParallelBytes());
        n.put("dataParallelSeconds", t.dataParallelSeconds());
        n.put("tensorParallelBytes", t.tensorParallelBytes());
        n.put("tensorParallelSeconds", t.tensorParallelSeconds());
        n.put("pipelineBytes", t.pipelineBytes());
        n.put("pipelineSeconds", t.pipelineSeconds());
        return n;
    }

    private static String buffer(CommBuffer b) {
        return b.name() + " " + ByteSize.format(b.bytes()) + (b.count() > 1 ? " (" + b.count() + ")" : "");
    }

    static ObjectNode json(ParallelProfile p, int globalBatch) {
        Layout l = p.layout();
        ObjectNode n = Json.object();
        n.put("worldSize", l.worldSize());
        n.put("dp", l.dp());
        n.put("tp", l.tp());
        n.put("pp", l.pp());
        n.put("shard", l.shard().label);
        n.put("microBatches", l.microBatches());
        n.put("microBatchSize", l.microBatchSize(globalBatch));
        n.put("pipeline", l.pipeline().label);
        n.put("offloadOptimizer", l.offloadOptimizer());
        n.put("offloadParameters", l.offloadParameters());
        n.put("highestRank", p.highest().globalRank(l));
        n.put("highestPeakBytes", p.highest().peakBytes());
        ArrayNode ranks = n.putArray("ranks");
        for (RankMemory r : p.ranks()) {
            ObjectNode x = ranks.addObject();
            x.put("rank", r.globalRank(l));
            x.put("dpRank", r.dpRank());
            x.put("stage", r.stage());
            x.put("peakBytes", r.peakBytes());
            x.put("modelStateBytes", r.modelStateBytes());
            x.put("offloadedBytes", r.offloadedBytes());
            ObjectNode ph = x.putObject("phasePeakBytes");
            for (Phase phase : Phase.values())
                ph.put(phase.name().toLowerCase(Locale.ROOT), r.phasePeak(phase));
            ArrayNode bs = x.putArray("buffers");
            for (CommBuffer b : r.buffers()) {
                ObjectNode bo = bs.addObject();
                bo.put("name", b.name());
                bo.put("bytes", b.bytes());
                bo.put("count", b.count());
                bo.put("persistent", b.persistent());
            }
        }
        return n;
    }
}
