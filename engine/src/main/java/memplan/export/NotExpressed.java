package memplan.export;

/** A plan decision PyTorch cannot carry out as the plan says, and what the generated module does instead. */
public record NotExpressed(String tensor, String kind, String reason) {
}
