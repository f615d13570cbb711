package memplan.backend;

/** Whether a backend can run on this machine, and if not, why (shown to the user as "not available: reason"). */
public record Availability(boolean available, String reason) {
    public static Availability yes(String description) {
        return new Availability(true, description);
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
