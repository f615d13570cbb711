package memplan.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Reading is capped: a huge file or an endless device is one error, without filling the heap. */
class TextFileReaderTest {
    @TempDir
    Path dir;

    @Test
    void aFileOverTheCapIsAnErrorWithoutBeingRead() throws IOException {
        Path f = dir.resolve("huge.json");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(2L << 30); // sparse: 2 GiB that cost no disk
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelJson.read(f));
        assertEquals(f + ": larger than 64 MiB, the limit for a MemPlan JSON model file (is it the right file?)", e.getMessage());
        Path small = Files.writeString(dir.resolve("s.json"), "x".repeat(1025));
        assertTrue(assertThrows(ModelFormatException.class, () -> TextFileReader.read(small, 1024, "plan")).reason()
                .startsWith("larger than 0 MiB"));
        assertEquals("x".repeat(1025), TextFileReader.read(small, 1025, "plan"));
    }

    @Test
    void anEndlessDeviceStopsAtTheCap() {
        Path zero = Path.of("/dev/zero");
        if (!Files.exists(zero)) return; // Linux only
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextFileReader.read(zero, 1 << 20, "model"));
        assertTrue(e.reason().startsWith("larger than 1 MiB"), e.reason());
    }

    @Test
    void aFolderOrBinaryIsNamedForWhatItIs() throws IOException {
        assertEquals(dir + ": is a folder, not a plan file",
                assertThrows(ModelFormatException.class, () -> TextFileReader.read(dir, 100, "plan")).getMessage());
        Path bin = Files.write(dir.resolve("b.json"), new byte[]{(byte) 0xff, (byte) 0xfe, 0});
        assertTrue(assertThrows(ModelFormatException.class, () -> TextFileReader.read(bin, 100, "plan")).reason()
                .startsWith("not a UTF-8 text file"));
    }
}
