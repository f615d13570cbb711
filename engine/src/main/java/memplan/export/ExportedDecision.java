package memplan.export;

import java.util.List;

/**
 * A plan decision as the generated module carries it out: what happens to the tensors a call of {@code module}
 * saves for backward. {@code part} is {@code out} (the call's output, wherever it is saved) or {@code aux} (the
 * other tensors the call saves itself: BatchNorm's statistics, max-pool indices). {@code shape} is the output's
 * shape the module is checked against (empty for aux); {@code codec} is set for compress decisions.
 */
public record ExportedDecision(String tensor, String kind, String module, String part, List<Long> shape,
                               String codec) {
    public ExportedDecision {
        shape = List.copyOf(shape);
    }
}
