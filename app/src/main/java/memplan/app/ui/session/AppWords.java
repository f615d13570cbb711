package memplan.app.ui.session;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Engine messages may name the command line's options ("more --device-memory"); in the app the user has controls, not
 * flags, so messages shown there name the control instead.
 */
public final class AppWords {
    private static final Map<String, String> CONTROLS = new LinkedHashMap<>();

    static {
        CONTROLS.put("run with --dtype fp32", "choose Data type fp32 in the Model tab");
        CONTROLS.put("more --device-memory", "more Device memory in the Run tab");
        CONTROLS.put("--device-memory", "Device memory (Run tab)");
        CONTROLS.put("set by --batch", "set by Batch size in the Model tab");
        CONTROLS.put("(--batch)", "(Batch size in the Model tab)");
        CONTROLS.put("comes from --batch", "comes from Batch size in the Model tab");
        CONTROLS.put("--batch", "Batch size (Model tab)");
        CONTROLS.put("--dtype", "Data type (Model tab)");
        CONTROLS.put("--budget", "the memory budget (Plan tab)");
        CONTROLS.put("--dims", "Dimensions (Model tab)");
        CONTROLS.put("--dim", "Dimensions (Model tab)");
    }

    private AppWords() {
    }

    /** The message with command-line options replaced by the app's controls. */
    public static String forApp(String message) {
        if (message == null || !message.contains("--")) return message;
        String m = message;
        for (Map.Entry<String, String> e : CONTROLS.entrySet()) m = m.replace(e.getKey(), e.getValue());
        return m;
    }
}
