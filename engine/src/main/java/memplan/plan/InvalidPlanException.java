package memplan.plan;

import java.util.List;

/** A plan that cannot be carried out; the message lists each problem with the tensor it concerns. */
public class InvalidPlanException extends IllegalArgumentException {
    private final List<PlanProblem> problems;

    public InvalidPlanException(List<PlanProblem> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    private static String message(List<PlanProblem> problems) {
        StringBuilder b = new StringBuilder("invalid plan: ");
        for (int i = 0; i < Math.min(problems.size(), 5); i++) b.append(i == 0 ? "" : "; ").append(problems.get(i));
        if (problems.size() > 5) b.append("; and ").append(problems.size() - 5).append(" more");
        return b.toString();
    }

    public List<PlanProblem> problems() {
        return problems;
    }
}
