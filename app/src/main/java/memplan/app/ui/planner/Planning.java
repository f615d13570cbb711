package memplan.app.ui.planner;

/** Which planner catalog the app uses. */
public final class Planning {
    private Planning() {
    }

    public static PlannerCatalog catalog() {
        return new EnginePlanners();
    }
}
