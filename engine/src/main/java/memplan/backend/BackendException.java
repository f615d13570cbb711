package memplan.backend;

/** A backend could not do what was asked (not available, a kernel failed); the message is for the user. */
public class BackendException extends RuntimeException {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
