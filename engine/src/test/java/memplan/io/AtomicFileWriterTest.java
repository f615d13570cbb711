package memplan.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A write replaces the whole file or nothing, never leaves a temporary file, and never overwrites an input. */
class AtomicFileWriterTest {
    @TempDir
    Path dir;

    private List<Path> listing() throws IOException {
        try (var s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesANewFileAndReplacesAnOldOne() throws IOException {
        Path f = dir.resolve("out.json");
        AtomicFileWriter.writeString(f, "first");
        assertEquals("first", Files.readString(f));
        AtomicFileWriter.writeString(f, "second, longer");
        assertEquals("second, longer", Files.readString(f));
        assertEquals(List.of(f), listing());
    }

    @Test
    void aFailureMidWriteKeepsTheOldFileAndLeavesNoTemporaryFile() throws IOException {
        Path f = Files.writeString(dir.resolve("plan.json"), "the good old plan");
        FileWriteException e = assertThrows(FileWriteException.class, () -> AtomicFileWriter.write(f, out -> {
            out.write("half of a new pl".getBytes());
            throw new IOException("No space left on device");
        }, List.of()));
        assertEquals("cannot write " + f + ": no space left on the device; the old file is unchanged", e.getMessage());
        assertEquals("the good old plan", Files.readString(f));
        assertEquals(List.of(f), listing(), "no temporary file is left");
        // An exception of the writer itself is no different.
        assertThrows(FileWriteException.class, () -> AtomicFileWriter.write(f, out -> {
            out.write(1);
            throw new IllegalStateException("bug");
        }, List.of()));
        assertEquals("the good old plan", Files.readString(f));
        assertEquals(List.of(f), listing());
    }

    @Test
    void refusesToWriteOverAnInputByPathLinkOrHardLink() throws IOException {
        Path model = Files.writeString(dir.resolve("m.json"), "{\"the\": \"model\"}");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), model);
        Path hard = Files.createLink(dir.resolve("hard.json"), model);
        Path sameByDots = dir.resolve("sub/../m.json");
        Files.createDirectories(dir.resolve("sub"));
        for (Path target : List.of(model, link, hard, sameByDots)) {
            FileWriteException e = assertThrows(FileWriteException.class,
                    () -> AtomicFileWriter.writeString(target, "plan", List.of(model)));
            assertTrue(e.getMessage().contains("an input of this command (" + model + ")"), e.getMessage());
            assertThrows(FileWriteException.class, () -> AtomicFileWriter.refuseInputs(target, List.of(model)));
        }
        // The input named through the link is protected too.
        assertThrows(FileWriteException.class, () -> AtomicFileWriter.writeString(model, "plan", List.of(link)));
        assertEquals("{\"the\": \"model\"}", Files.readString(model));
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void throughALinkTheFileItPointsToIsReplacedAndTheLinkKept() throws IOException {
        Path real = Files.writeString(dir.resolve("real.csv"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.csv"), real);
        AtomicFileWriter.writeString(link, "new");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(real));
    }

    @Test
    void keepsThePermissionsOfTheFileItReplaces() throws IOException {
        Path f = Files.writeString(dir.resolve("p.json"), "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFileWriter.writeString(f, "new");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    }

    @Test
    void aMissingFolderOrAFolderTargetIsAnError() throws IOException {
        FileWriteException e = assertThrows(FileWriteException.class,
                () -> AtomicFileWriter.writeString(dir.resolve("no/such/folder/x.csv"), "x"));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Path sub = Files.createDirectories(dir.resolve("sub"));
        assertTrue(assertThrows(FileWriteException.class, () -> AtomicFileWriter.writeString(sub, "x"))
                .getMessage().endsWith("it is a folder"));
    }

    @Test
    void aDeviceIsWrittenInPlaceNotReplaced() {
        Path full = Path.of("/dev/full");
        if (!Files.exists(full)) return; // Linux only
        FileWriteException e = assertThrows(FileWriteException.class, () -> AtomicFileWriter.writeString(full, "x".repeat(1 << 16)));
        assertTrue(e.getMessage().contains("no space left"), e.getMessage());
        assertTrue(Files.exists(full) && !Files.isRegularFile(full), "/dev/full is still the device");
        AtomicFileWriter.writeString(Path.of("/dev/null"), "discarded");
        assertFalse(Files.isRegularFile(Path.of("/dev/null")));
    }
}
