package memplan.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The backends found on the class path ({@code META-INF/services/memplan.backend.BackendProvider}). */
public final class Backends {
    private Backends() {
    }

    public static List<BackendProvider> all() {
        List<BackendProvider> out = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) out.add(p);
        return out;
    }

    /** The provider of that name; an unknown name is a clear error listing the known ones. */
    public static BackendProvider named(String name) {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : all()) {
            if (p.name().equalsIgnoreCase(name)) return p;
            names.add(p.name());
        }
        throw new BackendException("unknown backend '" + name + "' (available here: " + String.join(", ", names) + ")");
    }
}
