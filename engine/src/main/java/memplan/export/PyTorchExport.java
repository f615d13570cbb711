package memplan.export;

import memplan.plan.Plan;

import java.util.List;

/**
 * The generated Python module and what went into it. {@code expressed} is the plan as PyTorch will carry it out:
 * the decisions in {@code notExpressed} set back to keep, so that simulating it predicts what the module does.
 */
public record PyTorchExport(String source, List<ExportedDecision> decisions, List<CheckpointRegion> regions,
                            List<NotExpressed> notExpressed, List<String> warnings, Plan expressed) {
    public PyTorchExport {
        decisions = List.copyOf(decisions);
        regions = List.copyOf(regions);
        notExpressed = List.copyOf(notExpressed);
        warnings = List.copyOf(warnings);
    }
}
