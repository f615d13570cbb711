package memplan.backend;

import memplan.ir.Remediable;
import memplan.ir.Remedy;

/** A backend could not do what was asked (not available, a kernel failed); the message is for the user. */
public class BackendException extends RuntimeException implements Remediable {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }

    /** None in general; out-of-memory names more device memory. */
    @Override
    public Remedy remedy() {
        return null;
    }
}
