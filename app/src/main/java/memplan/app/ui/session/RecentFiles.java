package memplan.app.ui.session;

import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.prefs.Preferences;

/** Recently opened model files, newest first, kept in java.util.prefs. */
public final class RecentFiles {
    private static final String KEY = "recentModels";
    private static final int MAX = 8;
    private final Preferences prefs;
    private final ObservableList<Path> files = FXCollections.observableArrayList();

    public RecentFiles(Preferences prefs) {
        this.prefs = prefs;
        String stored = prefs == null ? "" : prefs.get(KEY, "");
        for (String s : stored.split("\n")) if (!s.isBlank()) files.add(Path.of(s));
    }

    /** The user's preferences node of the app. */
    public static RecentFiles forUser() {
        try {
            return new RecentFiles(Preferences.userRoot().node("memplan/app"));
        } catch (RuntimeException e) {
            return new RecentFiles(null);
        }
    }

    public ObservableList<Path> files() {
        return files;
    }

    public void add(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        files.remove(abs);
        files.add(0, abs);
        while (files.size() > MAX) files.remove(files.size() - 1);
        save();
    }

    public void clear() {
        files.clear();
        save();
    }

    private void save() {
        if (prefs == null) return;
        List<String> s = new ArrayList<>();
        for (Path p : files) s.add(p.toString());
        try {
            prefs.put(KEY, String.join("\n", s));
            prefs.flush();
        } catch (Exception e) {
            // Preferences are a convenience; a read-only home must not stop the app.
        }
    }
}
