package memplan.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a whole text file up to a size cap, so that a huge file, or a device such as /dev/zero that never ends,
 * gives an error instead of filling the heap. The text must be UTF-8.
 */
public final class TextFileReader {
    /** Model and plan files: the largest bundled model is under 1 MiB, an imported LLM's graph a few MiB. */
    public static final long MAX_MODEL_BYTES = 64L << 20;
    public static final long MAX_PLAN_BYTES = 64L << 20;
    public static final long MAX_STEP_TIMES_BYTES = 16L << 20;

    private TextFileReader() {
    }

    /**
     * The file's text.
     *
     * @param kind what the file should be, for the messages ("model", "plan")
     * @throws ModelFormatException naming the file and the reason (not found, a folder, too large, not UTF-8)
     */
    public static String read(Path file, long maxBytes, String kind) {
        String source = file.toString();
        if (Files.isDirectory(file))
            throw new ModelFormatException(source, null, "is a folder, not a " + kind + " file", null);
        try {
            if (Files.isRegularFile(file) && Files.size(file) > maxBytes)
                throw tooLarge(source, maxBytes, kind);
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                // One byte past the cap tells a file at the cap from a longer one (or an endless device).
                bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            }
            if (bytes.length > maxBytes) throw tooLarge(source, maxBytes, kind);
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(source, null, "file not found", null);
        } catch (AccessDeniedException e) {
            throw new ModelFormatException(source, null, "cannot read: permission denied", null);
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(source, null, "not a UTF-8 text file, so not a " + kind + " file", null);
        } catch (IOException e) {
            throw new ModelFormatException(source, null, "cannot read: " + e.getMessage(), null);
        }
    }

    private static ModelFormatException tooLarge(String source, long maxBytes, String kind) {
        return new ModelFormatException(source, null, "larger than " + (maxBytes >> 20) + " MiB, the limit for a "
                + kind + " file (is it the right file?)", null);
    }
}
