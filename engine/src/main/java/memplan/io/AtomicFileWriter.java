package memplan.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * Writes a file so that it is either entirely the new content or untouched: the bytes go to a temporary file beside
 * the target, which is then renamed over it. A failure (a full disk, a file-size limit, an exception of the writer)
 * deletes the temporary file and leaves the old target as it was. It also refuses to write over a file the command
 * read (the same file by path, symbolic link or hard link), which would destroy that input.
 */
public final class AtomicFileWriter {
    /** Writes the content to a stream; may throw, in which case nothing is replaced. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFileWriter() {
    }

    public static void writeString(Path target, String text, Collection<Path> inputs) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        write(target, out -> out.write(bytes), inputs);
    }

    public static void writeString(Path target, String text) {
        writeString(target, text, List.of());
    }

    public static void write(Path target, byte[] bytes) {
        write(target, out -> out.write(bytes), List.of());
    }

    /**
     * Writes {@code content} to {@code target} atomically.
     *
     * @param inputs files the command has read; writing over one of them is refused
     * @throws FileWriteException naming the target and the reason, with the old file intact
     */
    public static void write(Path target, Content content, Collection<Path> inputs) {
        Path dest = destination(target);
        refuseInputs(target, dest, inputs);
        Path dir = dest.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir))
            throw new FileWriteException(target, "the folder " + dir + " does not exist");
        if (Files.isDirectory(dest)) throw new FileWriteException(target, "it is a folder");
        if (Files.exists(dest) && !Files.isRegularFile(dest)) {
            // A device or pipe (/dev/stdout, a FIFO): no old content to keep; renaming over it would replace the node.
            try (OutputStream out = Files.newOutputStream(dest, StandardOpenOption.WRITE)) {
                content.writeTo(out);
            } catch (IOException | RuntimeException e) {
                throw new FileWriteException(target, reason(e));
            }
            return;
        }
        Path tmp = null;
        try {
            tmp = createTemp(dir, dest.getFileName().toString());
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
                content.writeTo(out);
            }
            copyPermissions(dest, tmp);
            try {
                Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dest, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            throw new FileWriteException(target, reason(e));
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write has failed already; that error is the one to report
                }
            }
        }
    }

    /** Through a symbolic link, the file it points to is replaced, and the link stays. */
    private static Path destination(Path target) {
        if (Files.isSymbolicLink(target)) {
            try {
                return target.toRealPath();
            } catch (IOException e) {
                return target; // a dangling link: replaced by the file
            }
        }
        return target;
    }

    /**
     * Fails now if {@code target} is one of {@code inputs}, so that a command can refuse before a long run instead of
     * after it. {@link #write} checks again.
     */
    public static void refuseInputs(Path target, Collection<Path> inputs) {
        refuseInputs(target, destination(target), inputs);
    }

    private static void refuseInputs(Path target, Path dest, Collection<Path> inputs) {
        for (Path in : inputs) {
            if (in == null) continue;
            if (sameFile(dest, in) || sameFile(target, in))
                throw new FileWriteException(target, "it is " + (in.equals(target) ? "" : "the same file as ")
                        + "an input of this command (" + in + "); writing would destroy it. Choose another file");
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            if (Files.exists(a) && Files.exists(b)) return Files.isSameFile(a, b); // device and inode: links too
        } catch (IOException e) {
            // fall through to comparing the paths
        }
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /** A new file, created with the default permissions (unlike createTempFile's owner-only ones). */
    private static Path createTemp(Path dir, String name) throws IOException {
        for (int i = 0; ; i++) {
            Path p = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                return Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (i > 100) throw e;
            }
        }
    }

    private static void copyPermissions(Path from, Path to) {
        try {
            if (Files.exists(from, LinkOption.NOFOLLOW_LINKS))
                Files.setPosixFilePermissions(to, Files.getPosixFilePermissions(from));
        } catch (IOException | UnsupportedOperationException e) {
            // permissions are a nicety; the content is what must be right
        }
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "the folder does not exist";
        if (m == null || m.isBlank()) return "the write failed";
        if (m.contains("No space left")) return "no space left on the device; the old file is unchanged";
        if (m.contains("File too large")) return "the file-size limit was reached; the old file is unchanged";
        return m;
    }
}
