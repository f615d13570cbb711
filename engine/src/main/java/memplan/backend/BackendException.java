package memplan.backend;

import memplan.ir.Remedy;

/** A backend could not do what was asked (not available, a kernel failed); the message is for the user. */
public class BackendException extends RuntimeException {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }

    /** What the user can change to get past it, or null; the CLI and the app word it in their own terms. */
    public Remedy remedy() {
        return null;
    }
}
