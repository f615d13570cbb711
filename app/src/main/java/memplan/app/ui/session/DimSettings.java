package memplan.app.ui.session;

import memplan.model.ModelDef;

import java.util.LinkedHashMap;
import java.util.Map;

/** The "dimensions" setting of the model panel: "T=128, S=64" — values for a model's dimension symbols. */
public final class DimSettings {
    private DimSettings() {
    }

    /** Parses "SYMBOL=VALUE" pairs separated by commas or spaces; throws with a message for the user. */
    public static Map<String, Integer> parse(String text) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (text == null || text.isBlank()) return out;
        for (String part : text.trim().split("[,\\s]+")) {
            String[] kv = part.split("=", -1);
            if (kv.length != 2 || !kv[0].matches("[A-Za-z_][A-Za-z0-9_]*") || !kv[1].matches("[0-9]{1,9}"))
                throw new IllegalArgumentException("Dimensions: '" + part + "' is not SYMBOL=VALUE (e.g. T=128)");
            if (kv[0].equals(ModelDef.BATCH))
                throw new IllegalArgumentException("Dimensions: set the batch N with Batch size");
            int v = Integer.parseInt(kv[1]);
            if (v <= 0) throw new IllegalArgumentException("Dimensions: " + kv[0] + " must be positive");
            out.put(kv[0], v);
        }
        return out;
    }

    /** The values for symbols this model declares (others belong to other models and are left out). */
    public static Map<String, Integer> forModel(Map<String, Integer> dims, ModelDef model) {
        Map<String, Integer> out = new LinkedHashMap<>();
        dims.forEach((k, v) -> {
            if (model.dims().containsKey(k)) out.put(k, v);
        });
        return out;
    }
}
