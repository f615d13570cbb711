package memplan.backend;

/**
 * Finds and opens one kind of backend. Registered through META-INF/services so the engine runs where a backend's
 * native libraries cannot load: {@link #availability()} probes once, never throws, and remembers the reason.
 */
public interface BackendProvider {
    /** Short name used on the command line: "cpu", "cuda". */
    String name();

    Availability availability();

    /** Opens the backend with a device of {@code deviceBytes} capacity (the real GPU's free memory caps it). */
    Backend open(long deviceBytes);
}
