package memplan.cli;

/** A problem with what the user asked for; printed as one "error: ..." line with exit code 2. */
public class CliException extends RuntimeException {
    public CliException(String message) {
        super(message);
    }
}
