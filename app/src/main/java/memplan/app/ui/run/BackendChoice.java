package memplan.app.ui.run;

import memplan.backend.Availability;
import memplan.backend.BackendProvider;
import memplan.backend.Backends;

import java.util.ArrayList;
import java.util.List;

/** A backend the run panel offers, with whether it can run here and why not. */
public record BackendChoice(String name, BackendProvider provider, boolean available, String reason) {
    @Override
    public String toString() {
        return available ? name : name + " (not available)";
    }

    /** The backends on the class path, probed once; CPU first. Never throws. */
    public static List<BackendChoice> discover() {
        List<BackendChoice> out = new ArrayList<>();
        try {
            for (BackendProvider p : Backends.all()) {
                Availability a;
                try {
                    a = p.availability();
                } catch (Throwable t) {
                    a = Availability.no(String.valueOf(t.getMessage()));
                }
                out.add(new BackendChoice(p.name(), p, a.available(), a.reason()));
            }
        } catch (Throwable t) {
            // a broken service file must not stop the app
        }
        out.sort((a, b) -> a.name().equalsIgnoreCase("cpu") ? -1 : b.name().equalsIgnoreCase("cpu") ? 1
                : a.name().compareTo(b.name()));
        if (out.stream().noneMatch(c -> c.name().equalsIgnoreCase("cuda")))
            out.add(new BackendChoice("cuda", null, false, "the CUDA backend is not part of this build"));
        return out;
    }
}
