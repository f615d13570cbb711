package memplan.ir;

/**
 * An engine exception that names what the user can change to get past it; the CLI and the app word the
 * {@link Remedy} in their own terms (a flag, a control).
 */
public interface Remediable {
    /** What the user can change, or null. */
    Remedy remedy();

    /** The value the remedy would use (an input shape "x=1x3x32x32"), or null. */
    default String remedyDetail() {
        return null;
    }
}
