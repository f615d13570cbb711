package memplan.app.ui;

import javafx.embed.swing.SwingFXUtils;
import javafx.scene.Node;
import javafx.scene.SnapshotParameters;
import javafx.scene.image.WritableImage;
import memplan.io.AtomicFileWriter;
import memplan.io.FileWriteException;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Saves a node (a canvas) as a PNG file. */
public final class Png {
    private Png() {
    }

    /** Snapshots on the calling (FX) thread; the file is replaced whole or not at all. */
    public static void save(Node node, Path file) throws IOException {
        WritableImage img = node.snapshot(new SnapshotParameters(), null);
        BufferedImage image = SwingFXUtils.fromFXImage(img, null);
        try {
            AtomicFileWriter.write(file, out -> {
                if (!ImageIO.write(image, "png", out)) throw new IOException("no PNG writer available");
            }, List.of());
        } catch (FileWriteException e) {
            throw new IOException(e.reason(), e);
        }
    }
}
