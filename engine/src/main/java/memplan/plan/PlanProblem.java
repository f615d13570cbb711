package memplan.plan;

/** Why one tensor's decision cannot be carried out. */
public record PlanProblem(int tensor, String tensorName, String decision, String reason) {
    @Override
    public String toString() {
        return "tensor '" + tensorName + "' (" + decision + "): " + reason;
    }
}
