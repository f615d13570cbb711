package memplan.io;

import java.nio.file.Path;

/** A file could not be written (or must not be: it is an input); the old file, if any, is unchanged. */
public class FileWriteException extends RuntimeException {
    private final Path file;
    private final String reason;

    public FileWriteException(Path file, String reason) {
        super("cannot write " + file + ": " + reason);
        this.file = file;
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }

    public Path file() {
        return file;
    }
}
