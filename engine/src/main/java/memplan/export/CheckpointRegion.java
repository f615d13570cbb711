package memplan.export;

import java.util.List;

/** A module whose call runs under non-reentrant torch.utils.checkpoint: the plan recomputes all it saves inside. */
public record CheckpointRegion(String module, List<String> tensors) {
    public CheckpointRegion {
        tensors = List.copyOf(tensors);
    }
}
