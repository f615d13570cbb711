package memplan.app.ui;

import javafx.embed.swing.SwingFXUtils;
import javafx.scene.Node;
import javafx.scene.SnapshotParameters;
import javafx.scene.image.WritableImage;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Path;

/** Saves a node (a canvas) as a PNG file. */
public final class Png {
    private Png() {
    }

    public static void save(Node node, Path file) throws IOException {
        WritableImage img = node.snapshot(new SnapshotParameters(), null);
        if (!ImageIO.write(SwingFXUtils.fromFXImage(img, null), "png", file.toFile()))
            throw new IOException("no PNG writer available");
    }
}
